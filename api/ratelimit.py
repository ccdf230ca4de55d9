"""Rate limits per environment and category, answered as Novu does.

Categories: ``trigger`` (``/v1/events``), ``configuration`` (workflows, integrations, layouts, …) and
``global`` (everything else). Bulk calls (bulk trigger, broadcast, bulk subscribers) cost
``rate_limit_bulk_cost`` requests. A fixed window of ``rate_limit_window_seconds`` allows
``limit × window × (1 + burst)``; counts live in the app DB, so every API process shares them.
Every limited response carries ``RateLimit-Limit/Remaining/Reset/Policy``; over the limit the answer
is 429 ``API rate limit exceeded`` with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from api.deps import api_key_of, environment_of_key
from api.errors import error_body
from store.db import Database
from store.ratelimit import forget_before, spend

log = logging.getLogger("tidings.api")

TRIGGER, CONFIGURATION, GLOBAL = "trigger", "configuration", "global"
CONFIGURATION_PREFIXES = (
    "/v1/workflows",
    "/v1/notification-templates",
    "/v1/workflow-overrides",
    "/v1/notification-groups",
    "/v1/integrations",
    "/v1/layouts",
    "/v1/tenants",
    "/v1/environments",
    "/v1/feeds",
    "/v1/webhooks",
)
BULK_PATHS = ("/v1/events/trigger/bulk", "/v1/events/trigger/broadcast", "/v1/subscribers/bulk")
#: One request in this many also deletes old windows.
SWEEP_ONE_IN = 500
#: How long counting may take before the request goes through uncounted (a locked or slow database).
COUNT_TIMEOUT_SECONDS = 0.5


def category_of(path: str) -> str:
    if path.startswith("/v1/events"):
        return TRIGGER
    if path.startswith(CONFIGURATION_PREFIXES):
        return CONFIGURATION
    return GLOBAL


class RateLimits:
    """ASGI middleware; reads ``app.state`` (db, settings, key cache) set by the lifespan."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        settings = state.settings
        api_key = api_key_of(dict(scope.get("headers") or []))
        if not settings.rate_limit_enabled or api_key is None:
            await self.app(scope, receive, send)
            return
        env = await environment_of_key(state, api_key)
        if env is None:
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        category = category_of(path)
        bulk = scope["method"] == "POST" and path in BULK_PATHS
        cost = settings.rate_limit_bulk_cost if bulk else 1
        window_seconds = max(1, settings.rate_limit_window_seconds)
        per_second = {
            TRIGGER: settings.rate_limit_trigger,
            CONFIGURATION: settings.rate_limit_configuration,
            GLOBAL: settings.rate_limit_global,
        }[category]
        limit = max(1, int(per_second * window_seconds))
        burst = int(limit * (1 + settings.rate_limit_burst))
        now = time.time()
        window = int(now // window_seconds)
        db: Database = state.db

        async def count() -> int:
            async with db.engine.begin() as conn:
                spent = await spend(
                    conn=conn, environment_id=env.id, category=category, window=window, cost=cost
                )
                if random.randrange(SWEEP_ONE_IN) == 0:
                    await forget_before(conn=conn, window=window - 1)
            return spent

        try:
            # A rate limit must never be why a request fails: with the database locked or gone (the route
            # itself then answers 503) or slow, the request goes through uncounted.
            used = await asyncio.wait_for(count(), COUNT_TIMEOUT_SECONDS)
        except (TimeoutError, SQLAlchemyError, OSError) as exc:
            log.warning("rate limit not counted (%s): letting the request through", type(exc).__name__)
            await self.app(scope, receive, send)
            return
        reset = max(1, math.ceil((window + 1) * window_seconds - now))
        policy = (
            f'{limit};w={window_seconds};burst={burst};comment="fixed window";'
            f'category="{category}";cost="{"bulk" if bulk else "single"}";serviceLevel="unlimited"'
        )
        headers = [
            (b"ratelimit-limit", str(limit).encode()),
            (b"ratelimit-remaining", str(max(0, burst - used)).encode()),
            (b"ratelimit-reset", str(reset).encode()),
            (b"ratelimit-policy", policy.encode()),
        ]
        if used > burst:
            body = json.dumps(error_body(429, path, "API rate limit exceeded")).encode()
            headers += [
                (b"retry-after", str(reset).encode()),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*(message.get("headers") or []), *headers]}
            await send(message)

        await self.app(scope, receive, with_headers)
