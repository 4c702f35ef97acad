"""Intelligence without an LLM: anomaly detection on polled and stored series."""
