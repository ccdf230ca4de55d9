"""The FastAPI application factory."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from temporalio.client import Client

from api import errors
from api.deps import key_cache
from api.idempotency import IdempotencyKeys
from api.inbox_cors import InboxCors
from api.limits import DoorGuard
from api.ratelimit import RateLimits
from api.realtime import Realtime, redact_tokens_in_server_logs
from api.routers import ROUTER_MODULES
from api.triggering import TriggerService
from api.unavailable import neighbours, with_deadline
from api.wire import ERROR_RESPONSES
from store.config_cache import ConfigCache
from store.config_versions import stamps_for
from store.db import Database, reading
from tidings import metrics, tracing
from tidings.bootstrap import sync_catalog
from tidings.schedules import sync_code_schedules
from tidings.settings import Settings
from tidings.startup import ping_database, wait_for_database, wait_for_temporal
from tidings.temporal import (
    TRANSACTION_ID,
    has_search_attribute,
    missing_search_attributes,
    require_search_attributes,
)
from tidings.webhooks import WebhookDispatcher

ROUTERS = [importlib.import_module(f"api.routers.{name}").router for name in ROUTER_MODULES]


def create_app(settings: Settings, *, db: Database | None = None, temporal: Client | None = None) -> FastAPI:
    """Build the API. ``db`` and ``temporal`` may be injected (tests); otherwise they come from settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_db = db is None
        app.state.db = db or Database(
            settings.resolved_database_url(), busy_timeout=settings.db_timeout_seconds, lock_timeout=True
        )
        if own_db:
            await wait_for_database(app.state.db, settings)
        if temporal is None:
            client = await wait_for_temporal(settings, interceptors=tracing.temporal_interceptors(traced))
            await require_search_attributes(client)
        else:
            client = temporal
        app.state.temporal = with_deadline(client, settings.temporal_timeout_seconds)
        app.state.settings = settings
        app.state.key_cache = key_cache()
        app.state.key_flights = {}  # API-key hash → the look-up in progress (api/deps.py)
        stamps = stamps_for(app.state.db.url, app.state.db.engine)
        await stamps.start()
        app.state.config_cache = ConfigCache(stamps)
        app.state.triggers = TriggerService(
            db=app.state.db,
            temporal=app.state.temporal,
            settings=settings,
            with_search_attribute=await has_search_attribute(app.state.temporal, TRANSACTION_ID.name),
            cache=app.state.config_cache,
        )
        app.state.webhooks = WebhookDispatcher(
            db=app.state.db,
            client=app.state.temporal,
            task_queue=settings.task_queue,
            give_up_seconds=settings.webhook_give_up_hours * 3600,
        ).install()
        await sync_catalog(app.state.db)
        await realtime.start(app.state.db)
        await sync_code_schedules(app.state.db, app.state.temporal, settings.task_queue)
        try:
            yield
        finally:
            await realtime.stop()
            await stamps.stop()
            if own_db:
                await app.state.db.dispose()

    traced = tracing.configure("tidings-api") if temporal is None else tracing.enabled()
    # Swagger UI (/docs) and ReDoc (/redoc) are served from the fastapi-offline package's files, not a CDN.
    app = FastAPIOffline(
        title="Tidings",
        version="0.1.0",
        description="Novu's v1 API on durable Temporal workflows.",
        lifespan=lifespan,
        static_url="/docs/assets",
        # FastAPI's own OpenTelemetry bridge stays off: traces come from ``tracing.instrument_api`` when an
        # OTLP endpoint is set. Left on, it looks the global providers up (three ``os.environ`` reads) on
        # every request only to find them unconfigured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    # The Inbox's socket.io endpoint; its database is the app's, set when the lifespan starts.
    realtime = Realtime(settings=settings)
    redact_tokens_in_server_logs()
    app.state.realtime = realtime
    app.mount("/socket.io", realtime)  # type: ignore[arg-type]
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router, responses=ERROR_RESPONSES)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    @app.get("/v1/health-check", include_in_schema=False)
    async def health() -> JSONResponse:
        """``ok`` only when the database and Temporal answer within their timeouts; else 503."""
        info = await neighbours(app.state.db, app.state.temporal, settings)
        if all(v["status"] == "up" for v in info.values()):
            return JSONResponse({"data": {"status": "ok", "info": info}})
        headers = {"Retry-After": str(settings.retry_after_seconds)}
        return JSONResponse({"data": {"status": "error", "info": info}}, status_code=503, headers=headers)

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

    app.add_middleware(IdempotencyKeys)
    app.add_middleware(RateLimits)  # outside idempotency: a replay is a request too
    app.add_middleware(errors.BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(InboxCors, origins=settings.inbox_cors_origins)
    app.add_middleware(ReadOnlyMethods)
    app.add_middleware(DoorGuard, max_body_bytes=settings.max_body_bytes)  # outermost: runs first
    if traced:
        tracing.instrument_api(app)
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
