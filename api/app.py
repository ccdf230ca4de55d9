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
from store.db import Database
from tidings.bootstrap import sync_catalog
from tidings.settings import Settings
from tidings.startup import ping_database, wait_for_database, wait_for_temporal
from tidings.temporal import (
    TRANSACTION_ID,
    has_search_attribute,
    missing_search_attributes,
    require_search_attributes,
)

ROUTERS = [importlib.import_module(f"api.routers.{name}").router for name in ROUTER_MODULES]


def create_app(settings: Settings, *, db: Database | None = None, temporal: Client | None = None) -> FastAPI:
    """Build the API. ``db`` and ``temporal`` may be injected (tests); otherwise they come from settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_db = db is None
        app.state.db = db or Database(settings.resolved_database_url())
        if own_db:
            await wait_for_database(app.state.db, settings)
        if temporal is None:
            app.state.temporal = await wait_for_temporal(settings)
            await require_search_attributes(app.state.temporal)
        else:
            app.state.temporal = temporal
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
    async def health() -> dict[str, Any]:
        return {"data": {"status": "ok"}}

    @app.get("/health/live", include_in_schema=False)
    async def live() -> dict[str, Any]:
        """The process serves HTTP; nothing else is checked (a failing dependency must not restart it)."""
        return {"status": "ok"}

    @app.get("/health/ready", include_in_schema=False)
    async def ready() -> JSONResponse:
        """Send traffic here only while the database and Temporal answer and the namespace is set up."""
        checks = await readiness(app.state.db, app.state.temporal)
        ok = all(value == "ok" for value in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503)

    app.add_middleware(errors.BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app


async def readiness(db: Database, temporal: Client) -> dict[str, str]:
    """One short check per dependency → "ok" or the reason (never a stack trace)."""
    import asyncio

    async def check(probe: Any) -> str:
        try:
            result = await asyncio.wait_for(probe, timeout=3)
        except Exception as err:  # noqa: BLE001 - any failure makes the replica unready; the reason is shown
            return f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:200]
        return "ok" if result is None else f"missing search attribute(s) {', '.join(result)}"

    async def attributes() -> list[str] | None:
        return await missing_search_attributes(temporal) or None

    return {"database": await check(ping_database(db)), "temporal": await check(attributes())}
