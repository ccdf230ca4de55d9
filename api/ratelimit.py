"""Rate limits per environment and category, answered as Novu does.

Categories: ``trigger`` (``/v1/events``), ``configuration`` (workflows, integrations, layouts, …) and
``global`` (everything else). Bulk calls (bulk trigger, broadcast, bulk subscribers) cost
``rate_limit_bulk_cost`` requests. A fixed window of ``rate_limit_window_seconds`` allows
``limit × window × (1 + burst)``; counts live in the app DB, so every API process shares them.
A process does not write the count on every request: it reserves a *lease* of units in the DB (one upsert
adds the whole lease) and spends it locally, so at the default limits one trigger in ~50 touches the
database. Leases are ``burst / 100`` units (at most 50, at least the request's cost): with small limits
every request is counted in the DB as it comes, exactly; with large ones the units a process reserved
and did not spend before the window ends count as used (each process wastes at most one lease a window).
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
from api.unavailable import UNAVAILABLE_TYPES, unavailable_reason
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


#: A lease is this share of the window's burst (see the module docstring), within these bounds.
LEASE_SHARE = 100
MAX_LEASE = 50


def lease_size(burst: int, cost: int) -> int:
    return max(cost, min(MAX_LEASE, burst // LEASE_SHARE))


class _Lease:
    """Units of one (environment, category, window) this process reserved in the DB and has not spent."""

    __slots__ = ("left", "lock", "total")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.left = 0
        self.total = 0  # the window's count in the DB after this process's last reservation


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
        self._leases: dict[tuple[str, str, int], _Lease] = {}
        self._window = 0

    def _lease(self, key: tuple[str, str, int]) -> _Lease:
        if key[2] != self._window:  # a new window: the old ones' leases are void
            self._leases = {k: v for k, v in self._leases.items() if k[2] >= key[2]}
            self._window = max(self._window, key[2])
        lease = self._leases.get(key)
        if lease is None:
            lease = self._leases[key] = _Lease()
        return lease

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
        try:
            env = await environment_of_key(state, api_key, scope)
        except UNAVAILABLE_TYPES as exc:
            if unavailable_reason(exc) is None:
                raise
            env = None  # not counted: the route answers for the database (503), or a probe reports it
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
        lease = self._lease((env.id, category, window))

        async def reserve(units: int) -> int:
            async with db.engine.begin() as conn:
                spent = await spend(
                    conn=conn, environment_id=env.id, category=category, window=window, cost=units
                )
                if random.randrange(SWEEP_ONE_IN) == 0:
                    await forget_before(conn=conn, window=window - 1)
            return spent

        used: int | None = None
        if lease.left < cost:
            # One reservation at a time per lease: the requests arriving together at a new window wait
            # for it rather than each reserving its own (64 upserts, and new pool connections, at once).
            async with lease.lock:
                if lease.left < cost:
                    units = lease_size(burst, cost)
                    try:
                        # A rate limit must never be why a request fails: with the database locked or gone
                        # (the route itself then answers 503) or slow, the request goes through uncounted.
                        total = await asyncio.wait_for(reserve(units), COUNT_TIMEOUT_SECONDS)
                    except (TimeoutError, SQLAlchemyError, OSError) as exc:
                        log.warning(
                            "rate limit not counted (%s): letting the request through", type(exc).__name__
                        )
                        used = -1
                    else:
                        usable = min(units, burst - (total - units))  # reserved units under the burst
                        lease.total = max(lease.total, total)
                        if usable >= cost:
                            lease.left += usable
                        else:
                            used = total - units + cost  # over the limit: what this request would make it
        if used == -1:
            await self.app(scope, receive, send)
            return
        if used is None:
            lease.left -= cost
            used = lease.total - lease.left
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
