"""The NOC wall: a locked, full-screen, rotating display of the fleet
(docs/architecture.md#rules)."""
