"""Layer 3: orchestration. Asks collectors, writes the store, runs analysis, publishes changes."""
