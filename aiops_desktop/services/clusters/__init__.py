"""The cluster registry: clusters, their credentials (in the keyring), health checks and
the clients that reach them."""
