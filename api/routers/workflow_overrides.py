"""``/v1/workflow-overrides``: per-tenant ``active`` and ``preferenceSettings`` of a workflow.

Workflows and tenants are named by ``_id`` or by trigger identifier / tenant identifier.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import BaseModel

from api.deps import CurrentEnv, DbDep
from api.errors import Conflict, NotFound
from api.responses import OverrideOut
from api.views import override_view
from api.wire import Data, Page, WireRouter, ok, query_int
from store.definitions import get_definition
from store.models import Tenant, WorkflowDefinition, WorkflowOverride
from store.tenants import delete_override, find_tenant, get_override, list_overrides, save_override

router = WireRouter(prefix="/v1/workflow-overrides", tags=["workflow-overrides"])


class OverrideChanges(BaseModel):
    active: bool | None = None
    preferenceSettings: dict[str, bool] | None = None


class CreateOverride(OverrideChanges):
    workflowId: str
    tenantId: str


async def workflow_and_tenant(
    session: Any, env_id: str, workflow_key: str, tenant_key: str
) -> tuple[WorkflowDefinition, Tenant]:
    workflow = await get_definition(session=session, environment_id=env_id, key=workflow_key)
    if workflow is None:
        raise NotFound(f"Workflow with id {workflow_key} is not found")
    tenant = await find_tenant(session=session, environment_id=env_id, key=tenant_key)
    if tenant is None:
        raise NotFound(f"Tenant with id {tenant_key} is not found")
    return workflow, tenant


def missing(override_id: str) -> NotFound:
    return NotFound(f"Workflow override with id {override_id} not found")


@router.post("", status_code=201, response_model=Data[OverrideOut])
async def create(body: CreateOverride, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        workflow, tenant = await workflow_and_tenant(session, env.id, body.workflowId, body.tenantId)
        if await get_override(
            session=session, environment_id=env.id, workflow_id=workflow.id, tenant_id=tenant.id
        ):
            raise Conflict(
                f"Workflow override for workflow {body.workflowId} and tenant {body.tenantId} already exists"
            )
        override = WorkflowOverride(environment_id=env.id, workflow_id=workflow.id, tenant_id=tenant.id)
        override = await save_override(
            session=session,
            override=override,
            active=body.active,
            preference_settings=body.preferenceSettings,
        )
    return ok(override_view(override, env.organization_id))


@router.get("", response_model=Page[OverrideOut])
async def list_all(env: CurrentEnv, db: DbDep, request: Request) -> dict[str, Any]:
    page = query_int("page", request.query_params.get("page"), default=0, minimum=0)
    limit = query_int("limit", request.query_params.get("limit"), default=10, minimum=1, maximum=100)
    async with db.session() as session:
        rows, has_more = await list_overrides(session=session, environment_id=env.id, page=page, limit=limit)
    return {
        "hasMore": has_more,
        "data": [override_view(o, env.organization_id) for o in rows],
        "pageSize": limit,
        "page": page,
    }


@router.get("/workflows/{workflow_id}/tenants/{tenant_id}", response_model=Data[OverrideOut])
async def get_by_pair(workflow_id: str, tenant_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        workflow, tenant = await workflow_and_tenant(session, env.id, workflow_id, tenant_id)
        override = await get_override(
            session=session, environment_id=env.id, workflow_id=workflow.id, tenant_id=tenant.id
        )
    if override is None:
        raise NotFound(f"Workflow override for workflow {workflow_id} and tenant {tenant_id} not found")
    return ok(override_view(override, env.organization_id))


@router.put("/workflows/{workflow_id}/tenants/{tenant_id}", response_model=Data[OverrideOut])
async def put_by_pair(
    workflow_id: str, tenant_id: str, body: OverrideChanges, env: CurrentEnv, db: DbDep
) -> dict[str, Any]:
    """Update the pair's override, creating it when it does not exist yet."""
    async with db.session() as session:
        workflow, tenant = await workflow_and_tenant(session, env.id, workflow_id, tenant_id)
        override = await get_override(
            session=session, environment_id=env.id, workflow_id=workflow.id, tenant_id=tenant.id
        ) or WorkflowOverride(environment_id=env.id, workflow_id=workflow.id, tenant_id=tenant.id)
        override = await save_override(
            session=session,
            override=override,
            active=body.active,
            preference_settings=body.preferenceSettings,
        )
    return ok(override_view(override, env.organization_id))


async def require_override(session: Any, env: CurrentEnv, override_id: str) -> WorkflowOverride:
    """The environment's override with that id, or Novu's 404."""
    override = await get_override(session=session, environment_id=env.id, override_id=override_id)
    if override is None:
        raise missing(override_id)
    return override


@router.get("/{override_id}", response_model=Data[OverrideOut])
async def get_one(override_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        override = await require_override(session, env, override_id)
    return ok(override_view(override, env.organization_id))


@router.put("/{override_id}", response_model=Data[OverrideOut])
async def update(override_id: str, body: OverrideChanges, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        override = await require_override(session, env, override_id)
        override = await save_override(
            session=session,
            override=override,
            active=body.active,
            preference_settings=body.preferenceSettings,
        )
    return ok(override_view(override, env.organization_id))


@router.delete("/{override_id}", response_model=Data[bool])
async def delete(override_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        override = await require_override(session, env, override_id)
        await delete_override(session=session, override=override)
    return ok(True)
