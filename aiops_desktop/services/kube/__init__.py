"""A cluster's Kubernetes API: validation, discovery, inventory and the session the UI
reads through."""
