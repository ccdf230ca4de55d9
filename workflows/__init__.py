"""Deterministic Temporal code: the step engine, the notification workflow, and the Python workflow catalog."""
