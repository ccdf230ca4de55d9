"""The FastAPI application factory."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Response
from temporalio.client import Client

from api import errors
from api.idempotency import IdempotencyKeys
from api.ratelimit import RateLimits
from api.routers import ROUTER_MODULES
from api.triggering import TriggerService
from store.db import Database
from tidings import metrics, tracing
from tidings.bootstrap import sync_catalog
from tidings.settings import Settings
from tidings.temporal import TRANSACTION_ID, connect, has_search_attribute
from tidings.webhooks import WebhookDispatcher

ROUTERS = [importlib.import_module(f"api.routers.{name}").router for name in ROUTER_MODULES]


def create_app(settings: Settings, *, db: Database | None = None, temporal: Client | None = None) -> FastAPI:
    """Build the API. ``db`` and ``temporal`` may be injected (tests); otherwise they come from settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_db = db is None
        app.state.db = db or Database(settings.resolved_database_url())
        app.state.temporal = temporal or await connect(
            settings.temporal_address,
            settings.temporal_namespace,
            interceptors=tracing.temporal_interceptors(traced),
        )
        app.state.settings = settings
        app.state.key_cache = {}
        app.state.triggers = TriggerService(
            db=app.state.db,
            temporal=app.state.temporal,
            settings=settings,
            with_search_attribute=await has_search_attribute(app.state.temporal, TRANSACTION_ID.name),
        )
        app.state.webhooks = WebhookDispatcher(
            db=app.state.db,
            client=app.state.temporal,
            task_queue=settings.task_queue,
            give_up_seconds=settings.webhook_give_up_hours * 3600,
        ).install()
        await sync_catalog(app.state.db)
        try:
            yield
        finally:
            if own_db:
                await app.state.db.dispose()

    traced = tracing.configure("tidings-api") if temporal is None else tracing.enabled()
    app = FastAPI(
        title="Tidings",
        version="0.1.0",
        description="Novu's v1 API on durable Temporal workflows.",
        lifespan=lifespan,
    )
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    @app.get("/v1/health-check", include_in_schema=False)
    async def health() -> dict[str, Any]:
        return {"data": {"status": "ok"}}

    app.add_middleware(IdempotencyKeys)
    app.add_middleware(RateLimits)  # outside idempotency: a replay is a request too
    app.add_middleware(errors.BodySizeLimit, max_bytes=settings.max_body_bytes)
    if traced:
        tracing.instrument_api(app)
    return app
