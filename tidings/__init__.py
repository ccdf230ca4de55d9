"""Tidings: notification infrastructure with Novu's v1 API on durable Temporal workflows."""
