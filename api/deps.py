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
    env = await environment_for_api_key(request.app.state, key)
    if env is None:
        raise Unauthorized("API Key not found")
    return env


def cached_environment(state: Any, key: str) -> EnvironmentRef | None:
    """The key's environment when it was looked up recently (no database work)."""
    hit = state.key_cache.get(hash_key(key))
    return hit[0] if hit is not None and hit[1] > time.monotonic() else None


async def environment_for_api_key(state: Any, key: str) -> EnvironmentRef | None:
    """An API key → its environment (hashed look-up, cached for a minute); None for an unknown key."""
    found = cached_environment(state, key)
    if found is not None:
        return found
    db: Database = state.db
    async with db.read() as session:  # every request passes here: never wait for SQLite's writer
        env = await environment_for_key(session=session, key=key)
    if env is not None:
        state.key_cache[hash_key(key)] = (env, time.monotonic() + _KEY_CACHE_TTL)
    return env


CurrentEnv = Annotated[EnvironmentRef, Depends(current_environment)]
DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
