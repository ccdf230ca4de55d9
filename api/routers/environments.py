"""``/v1/environments``: what an API key can see about its own environment and organization."""

from __future__ import annotations

from typing import Any

from api.deps import CurrentEnv, DbDep
from api.errors import NotFound
from api.responses import ApiKeyOut, EnvironmentOut
from api.views import api_key_view, environment_view
from api.wire import Data, WireRouter, ok
from store.tenancy import environment_api_keys, get_environment, organization_environments

router = WireRouter(prefix="/v1", tags=["environments"])


@router.get("/environments/me", response_model=Data[EnvironmentOut])
async def current(env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        row = await get_environment(session=session, environment_id=env.id)
    if row is None:
        raise NotFound("Environment not found")
    return ok(environment_view(row))


@router.get("/environments", response_model=Data[list[EnvironmentOut]])
async def list_environments(env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    """The environments of the caller's organization."""
    async with db.session() as session:
        rows = await organization_environments(session=session, organization_id=env.organization_id)
    return ok([environment_view(r) for r in rows])


@router.get("/environments/api-keys", response_model=Data[list[ApiKeyOut]])
async def api_keys(env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    """Keys are stored hashed, so only their last four characters can be shown."""
    async with db.session() as session:
        rows = await environment_api_keys(session=session, environment_id=env.id)
    return ok([api_key_view(r) for r in rows])
