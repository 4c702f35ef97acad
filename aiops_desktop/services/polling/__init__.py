"""Polling: the engine, its circuit breakers, the live buffers, the query catalog, freshness."""
