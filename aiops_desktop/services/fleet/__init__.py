"""The fleet's one truth: every cluster and hub member, its state, score and findings."""
