"""What leaves the app: reports, captures (and their recorded answers), the wall's model."""
