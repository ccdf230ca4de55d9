"""FastAPI dependencies: the authenticated environment, the database, Temporal, settings."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import Depends, Request
from temporalio.client import Client

from api.errors import Unauthorized
from store.db import Database
from store.tenancy import EnvironmentRef, environment_for_key, hash_key
from tidings.settings import Settings

_KEY_CACHE_TTL = 60.0


def get_db(request: Request) -> Database:
    return request.app.state.db  # type: ignore[no-any-return]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_temporal(request: Request) -> Client:
    return request.app.state.temporal  # type: ignore[no-any-return]


async def current_environment(request: Request) -> EnvironmentRef:
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
    env = await environment_of_key(request.app.state, key)
    if env is None:
        raise Unauthorized("API Key not found")
    return env


async def environment_of_key(state: Any, key: str) -> EnvironmentRef | None:
    """The environment of an API key, through the app's short-lived key cache (also used by middleware)."""
    cache: dict[str, tuple[EnvironmentRef, float]] = state.key_cache
    digest = hash_key(key)
    hit = cache.get(digest)
    now = time.monotonic()
    if hit is not None and hit[1] > now:
        return hit[0]
    db: Database = state.db
    async with db.session() as session:
        env = await environment_for_key(session=session, key=key)
    if env is not None:
        cache[digest] = (env, now + _KEY_CACHE_TTL)
    return env


def api_key_of(headers: dict[bytes, bytes]) -> str | None:
    """The key of an ``Authorization: ApiKey <key>`` header in raw ASGI headers, if there is one."""
    scheme, _, key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    return key.strip() or None if scheme == "ApiKey" else None


CurrentEnv = Annotated[EnvironmentRef, Depends(current_environment)]
DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
