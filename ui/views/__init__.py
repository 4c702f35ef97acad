"""Views: widgets that show presenter data and forward user intent. No I/O, no async."""
