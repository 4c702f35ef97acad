"""The NOC wall: a locked, full-screen, rotating display of the fleet (PRODUCT.md s. 6)."""
