"""The FastAPI application factory."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from temporalio.client import Client

from api import errors
from api.routers import ROUTER_MODULES
from api.triggering import TriggerService
from api.unavailable import neighbours, with_deadline
from store.db import Database, reading
from tidings.bootstrap import sync_catalog
from tidings.settings import Settings
from tidings.temporal import TRANSACTION_ID, connect, has_search_attribute

ROUTERS = [importlib.import_module(f"api.routers.{name}").router for name in ROUTER_MODULES]


def create_app(settings: Settings, *, db: Database | None = None, temporal: Client | None = None) -> FastAPI:
    """Build the API. ``db`` and ``temporal`` may be injected (tests); otherwise they come from settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_db = db is None
        app.state.db = db or Database(
            settings.resolved_database_url(), busy_timeout=settings.db_timeout_seconds, lock_timeout=True
        )
        app.state.temporal = with_deadline(
            temporal or await connect(settings.temporal_address, settings.temporal_namespace),
            settings.temporal_timeout_seconds,
        )
        app.state.settings = settings
        app.state.key_cache = {}
        app.state.triggers = TriggerService(
            db=app.state.db,
            temporal=app.state.temporal,
            settings=settings,
            with_search_attribute=await has_search_attribute(app.state.temporal, TRANSACTION_ID.name),
        )
        await sync_catalog(app.state.db)
        try:
            yield
        finally:
            if own_db:
                await app.state.db.dispose()

    app = FastAPI(
        title="Tidings",
        version="0.1.0",
        description="Novu's v1 API on durable Temporal workflows.",
        lifespan=lifespan,
    )
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/v1/health-check", include_in_schema=False)
    async def health() -> JSONResponse:
        """``ok`` only when the database and Temporal answer within their timeouts; else 503."""
        info = await neighbours(app.state.db, app.state.temporal, settings)
        if all(v["status"] == "up" for v in info.values()):
            return JSONResponse({"data": {"status": "ok", "info": info}})
        headers = {"Retry-After": str(settings.retry_after_seconds)}
        return JSONResponse({"data": {"status": "error", "info": info}}, status_code=503, headers=headers)

    app.add_middleware(errors.BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(ReadOnlyMethods)
    return app


class ReadOnlyMethods:
    """GET and HEAD requests open read-only sessions (on SQLite they never wait for the write lock)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("method") in ("GET", "HEAD"):
            with reading():
                await self.app(scope, receive, send)
            return
        await self.app(scope, receive, send)
