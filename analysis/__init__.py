"""Layer 2: computation on data it is handed: anomaly detection, RCA, report content, LLM client.

It never fetches cluster data itself. The detectors arrive with the anomaly-detection issue.
"""
