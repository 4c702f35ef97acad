"""PromQL over many clusters: parallel queries, the console, alert grouping, field reads."""
