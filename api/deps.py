"""FastAPI dependencies: the authenticated environment, the database, Temporal, settings."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Annotated, Any

from cachetools import TTLCache
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from temporalio.client import Client

from api.errors import Unauthorized
from store.db import Database
from store.tenancy import EnvironmentRef, environment_for_key, hash_key
from tidings.settings import Settings

#: Without a version stamp (``store/config_versions.py``: a PostgreSQL listener reconnecting) a revoked
#: key keeps working for at most this long on an API process that saw it; with one, not at all.
KEY_CACHE_TTL_SECONDS = 60.0
#: Bounded, so a flood of distinct keys cannot grow the API's memory (least recently used go first).
KEY_CACHE_SIZE = 10_000


def key_cache() -> TTLCache[str, tuple[EnvironmentRef, Any]]:
    """API-key hash → (environment, its version stamp then), for ``KEY_CACHE_TTL_SECONDS``; one per app."""
    return TTLCache(maxsize=KEY_CACHE_SIZE, ttl=KEY_CACHE_TTL_SECONDS)


def get_db(request: Request) -> Database:
    return request.app.state.db  # type: ignore[no-any-return]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_temporal(request: Request) -> Client:
    return request.app.state.temporal  # type: ignore[no-any-return]


#: The OpenAPI ``ApiKey`` security scheme (Swagger's Authorize button). It only documents the header:
#: :func:`current_environment` reads and checks it itself, to answer with Novu's exact 401 messages.
API_KEY_SCHEME = APIKeyHeader(
    name="Authorization",
    scheme_name="ApiKey",
    description="`ApiKey <your API key>` (the environment's secret key)",
    auto_error=False,
)


async def current_environment(
    request: Request, _documented: Annotated[str | None, Security(API_KEY_SCHEME)] = None
) -> EnvironmentRef:
    """``Authorization: ApiKey <key>`` → the key's environment, with Novu's exact 401 messages."""
    header = request.headers.get("authorization")
    if header is None:
        raise Unauthorized("Missing authorization header")
    scheme, _, key = header.partition(" ")
    if scheme not in ("ApiKey", "Bearer"):
        raise Unauthorized(f'Invalid authentication scheme: "{scheme}"')
    key = key.strip()
    if scheme == "Bearer" or not key:
        raise Unauthorized("Unauthorized")
    env = await environment_for_api_key(request.app.state, key, request.scope)
    if env is None:
        raise Unauthorized("API Key not found")
    return env


def known_key(state: Any, key: str) -> bool:
    """The key was found recently (perhaps to be checked again: its environment's stamp moved since)."""
    return hash_key(key) in state.key_cache


def cached_environment(state: Any, key: str) -> EnvironmentRef | None:
    """The key's environment when it was looked up recently and nothing of its environment's API keys
    (or other trigger configuration) was written since (no database work)."""
    cache: TTLCache[str, tuple[EnvironmentRef, Any]] = state.key_cache
    entry = cache.get(hash_key(key))
    if entry is None:
        return None
    env, stamp = entry
    config = getattr(state, "config_cache", None)
    if stamp is not None and config is not None and config.stamps.stamp(env.id) != stamp:
        return None
    return env


#: Where the first middleware that resolved the request's key leaves it for the next ones and the route.
SCOPE_KEY = "tidings.api_key_environment"


async def environment_for_api_key(
    state: Any, key: str, scope: MutableMapping[str, Any] | None = None
) -> EnvironmentRef | None:
    """An API key → its environment (hashed look-up, cached); None for an unknown key. With the request's
    ``scope`` it is resolved once per request (the door, the rate limit and the route share it)."""
    if scope is not None:
        known = scope.get(SCOPE_KEY)
        if known is not None and known[0] == key:
            return known[1]  # type: ignore[no-any-return]
    found = cached_environment(state, key)
    if found is None:
        found = await _single_flight(state, key)
    if scope is not None and found is not None:
        scope[SCOPE_KEY] = (key, found)
    return found


async def _single_flight(state: Any, key: str) -> EnvironmentRef | None:
    """One database look-up per key at a time: requests arriving together on a cold or expired entry
    (every ``KEY_CACHE_TTL_SECONDS`` under load) share the first one's answer instead of each reading.
    When that look-up fails or its request is cancelled, each waiter looks the key up itself."""
    flights: dict[str, asyncio.Future[Any]] = state.key_flights
    digest = hash_key(key)
    flight = flights.get(digest)
    if flight is not None:
        shared = await asyncio.shield(flight)
        return await _look_up(state, key) if shared is _FAILED else shared  # type: ignore[no-any-return]
    flight = asyncio.get_running_loop().create_future()
    flights[digest] = flight
    found: Any = _FAILED
    try:
        found = await _look_up(state, key)
        return found
    finally:
        del flights[digest]
        flight.set_result(found)


#: What waiters of a failed or cancelled shared look-up receive: try on their own.
_FAILED = object()


async def _look_up(state: Any, key: str) -> EnvironmentRef | None:
    db: Database = state.db
    async with db.read() as session:  # every request passes here: never wait for SQLite's writer
        env = await environment_for_key(session=session, key=key)
    if env is None:
        return None
    config = getattr(state, "config_cache", None)
    stamp = config.stamps.stamp(env.id) if config is not None else None
    if stamp is not None:
        # Read once more after taking the stamp (in a new transaction): a key revoked between the first
        # read and the stamp would otherwise be kept as valid under the stamp that includes its revocation.
        async with db.read() as session:
            if await environment_for_key(session=session, key=key) != env:
                return env
    state.key_cache[hash_key(key)] = (env, stamp)
    return env


def api_key_of(headers: dict[bytes, bytes]) -> str | None:
    """The key of an ``Authorization: ApiKey <key>`` header in raw ASGI headers, if there is one."""
    scheme, _, key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    return key.strip() or None if scheme == "ApiKey" else None


CurrentEnv = Annotated[EnvironmentRef, Depends(current_environment)]
DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TemporalDep = Annotated[Client, Depends(get_temporal)]


#: The name the operator middleware (idempotency, rate limits) uses.
environment_of_key = environment_for_api_key
