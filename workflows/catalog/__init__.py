"""Notification workflows written in Python. Import each module here so it registers itself."""

from workflows.catalog import comment_digest, welcome

__all__ = ["comment_digest", "welcome"]
