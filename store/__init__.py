"""The app database: SQLModel tables, keyword-only data functions, the session factory.

It imports nothing from the rest of Tidings.
"""
