"""Layer 2: async I/O to clusters (Prometheus, Alertmanager, Loki, Tempo, Kubernetes).

Each backend gets one client that returns domain models and raises the project's own errors.
The clients arrive with the live-metrics and Kubernetes issues.
"""
