"""Notification workflows written in Python. Import each module here so it registers itself."""

from workflows.catalog import welcome

__all__ = ["welcome"]
