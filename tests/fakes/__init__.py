"""Fake provider APIs on loopback: they answer like the real services and record every request."""
