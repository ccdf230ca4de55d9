"""``/v1/tenants``: tenants supply ``{{tenant.*}}``, conditions and workflow overrides."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

from api.deps import CurrentEnv, DbDep
from api.errors import Conflict, NotFound
from api.responses import TenantOut
from api.views import tenant_view
from api.wire import Data, Page, WireRouter, ok, query_int
from store.tenants import create_tenant, delete_tenant, get_tenant, list_tenants, update_tenant

router = WireRouter(prefix="/v1/tenants", tags=["tenants"])


class CreateTenant(BaseModel):
    identifier: str
    name: str
    data: dict[str, Any] | None = None


class UpdateTenant(BaseModel):
    identifier: str | None = None
    name: str | None = None
    data: dict[str, Any] | None = None


def exists(identifier: str, env_id: str) -> Conflict:
    return Conflict(f"Tenant with identifier: {identifier} already exists under environment {env_id}")


def missing(identifier: str, env_id: str) -> NotFound:
    return NotFound(f"Tenant with identifier: {identifier} does not exist under environment {env_id}")


@router.get("", response_model=Page[TenantOut])
async def list_all(env: CurrentEnv, db: DbDep, request: Request) -> dict[str, Any]:
    page = query_int("page", request.query_params.get("page"), default=0, minimum=0)
    limit = query_int("limit", request.query_params.get("limit"), default=10, minimum=1, maximum=100)
    async with db.session() as session:
        rows, has_more = await list_tenants(session=session, environment_id=env.id, page=page, limit=limit)
    return {"page": page, "hasMore": has_more, "pageSize": limit, "data": [tenant_view(t) for t in rows]}


@router.post("", status_code=201, response_model=Data[TenantOut])
async def create(body: CreateTenant, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        if await get_tenant(session=session, environment_id=env.id, identifier=body.identifier):
            raise exists(body.identifier, env.id)
        tenant = await create_tenant(
            session=session, environment_id=env.id, identifier=body.identifier, name=body.name, data=body.data
        )
    return ok(tenant_view(tenant))


@router.get("/{identifier}", response_model=Data[TenantOut])
async def get_one(identifier: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        tenant = await get_tenant(session=session, environment_id=env.id, identifier=identifier)
    if tenant is None:
        raise missing(identifier, env.id)
    return ok(tenant_view(tenant))


@router.patch("/{identifier}", response_model=Data[TenantOut])
async def update(identifier: str, body: UpdateTenant, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        tenant = await get_tenant(session=session, environment_id=env.id, identifier=identifier)
        if tenant is None:
            raise missing(identifier, env.id)
        if body.identifier and body.identifier != identifier:
            if await get_tenant(session=session, environment_id=env.id, identifier=body.identifier):
                raise exists(body.identifier, env.id)
        tenant = await update_tenant(session=session, tenant=tenant, changes=body.model_dump())
    return ok(tenant_view(tenant))


@router.delete("/{identifier}", status_code=204)
async def delete(identifier: str, env: CurrentEnv, db: DbDep) -> Response:
    async with db.session() as session:
        tenant = await get_tenant(session=session, environment_id=env.id, identifier=identifier)
        if tenant is None:
            raise missing(identifier, env.id)
        await delete_tenant(session=session, tenant=tenant)
    return Response(status_code=204)
