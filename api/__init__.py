"""Novu's v1 REST API on FastAPI: thin routes over the store and Temporal."""
