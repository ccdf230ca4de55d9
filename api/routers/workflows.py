"""``/v1/workflows`` and the legacy ``/v1/notification-templates`` (same handlers).

Code-defined workflows are listed too (``origin: "code"``) but cannot be changed over REST.
Bodies are accepted in camelCase and, for nested keys, the snake_case the PyPI ``novu`` SDK sends.
"""

from __future__ import annotations

from typing import Any, NoReturn

from fastapi import Body, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from api.deps import CurrentEnv, DbDep
from api.errors import BadRequest, Conflict, NotFound, validation_messages
from api.limits import check_steps
from api.responses import VariablesOut, WorkflowOut
from api.views import definition_view
from api.wire import Data, Page, WireRouter, ok, query_int
from store.definitions import get_definition
from store.webhook_events import WORKFLOW_CREATED, WORKFLOW_DELETED, WORKFLOW_UPDATED, emit
from store.workflow_steps import camelize
from store.workflows_store import (
    DefinitionError,
    create_definition,
    delete_definition,
    get_group,
    groups_by_id,
    list_definitions,
    not_found,
    set_status,
    update_definition,
)
from tidings.webhook_payloads import workflow_data

router = WireRouter(prefix="/v1", tags=["workflows"])
BASES = ("/workflows", "/notification-templates")

SYSTEM_VARIABLES = {
    "subscriber": ["firstName", "lastName", "email", "phone", "avatar", "locale", "subscriberId"],
    "actor": ["firstName", "lastName", "email", "phone", "avatar", "locale", "subscriberId"],
    "step": ["digest", "events", "total_count"],
    "branding": ["logo", "color"],
    "tenant": ["name", "data"],
}


class CreateWorkflow(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    notificationGroupId: str | None = None
    notificationGroup: dict[str, Any] | None = None
    tags: list[str] | None = None
    description: str | None = Field(default=None, max_length=1000)
    active: bool = False
    critical: bool = False
    preferenceSettings: dict[str, bool] | None = None
    data: dict[str, Any] | None = None
    steps: list[dict[str, Any]] = Field(default_factory=list)

    _steps = field_validator("steps")(check_steps)


class UpdateWorkflow(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str | None = None
    identifier: str | None = None
    notificationGroupId: str | None = None
    notificationGroup: dict[str, Any] | None = None
    tags: list[str] | None = None
    description: str | None = Field(default=None, max_length=300)
    active: bool | None = None
    critical: bool | None = None
    preferenceSettings: dict[str, bool] | None = None
    data: dict[str, Any] | None = None
    steps: list[dict[str, Any]] | None = None

    _steps = field_validator("steps")(check_steps)


class StatusBody(BaseModel):
    active: bool


def parse(model: type[BaseModel], body: Any) -> BaseModel:
    if not isinstance(body, dict):
        raise BadRequest(["body must be an object"])
    try:
        return model.model_validate(camelize(body))
    except ValidationError as exc:
        raise BadRequest(validation_messages([dict(e) for e in exc.errors()], model)) from exc


def fail(exc: DefinitionError) -> NoReturn:
    error = {"not_found": NotFound, "conflict": Conflict}.get(exc.kind, BadRequest)
    raise error(exc.message) from exc


async def view_one(db: Any, env: Any, row: Any) -> dict[str, Any]:
    async with db.session() as session:
        group = (
            await get_group(session=session, environment_id=env.id, group_id=row.notification_group_id)
            if row.notification_group_id
            else None
        )
    return definition_view(row, organization_id=env.organization_id, group=group)


async def list_workflows(env: CurrentEnv, db: DbDep, request: Request) -> dict[str, Any]:
    params = request.query_params
    page = query_int("page", params.get("page"), default=0, minimum=0)
    limit = query_int("limit", params.get("limit"), default=10, minimum=1, maximum=100)
    async with db.session() as session:
        rows, total = await list_definitions(
            session=session, environment_id=env.id, page=page, limit=limit, query=params.get("query")
        )
        groups = await groups_by_id(
            session=session, ids=sorted({r.notification_group_id for r in rows if r.notification_group_id})
        )
    data = [
        definition_view(
            r, organization_id=env.organization_id, group=groups.get(r.notification_group_id or "")
        )
        for r in rows
    ]
    return {"page": page, "data": data, "totalCount": total, "pageSize": limit}


async def create_workflow(env: CurrentEnv, db: DbDep, body: Any = Body(None)) -> dict[str, Any]:
    fields = parse(CreateWorkflow, body).model_dump(exclude_unset=False)
    if not fields.get("notificationGroupId") and not fields.get("notificationGroup"):
        raise BadRequest(["Notification group must be provided "])
    try:
        async with db.session() as session:
            row = await create_definition(session=session, environment_id=env.id, fields=fields)
            await emit(session, environment_id=env.id, event=WORKFLOW_CREATED, data=workflow_data(row))
    except DefinitionError as exc:
        fail(exc)
    return ok(await view_one(db, env, row))


async def variables(env: CurrentEnv) -> dict[str, Any]:
    return ok({"translations": [], "system": SYSTEM_VARIABLES})


async def get_workflow(workflow_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        row = await get_definition(session=session, environment_id=env.id, key=workflow_id)
    if row is None:
        fail(not_found(workflow_id))
    return ok(await view_one(db, env, row))


async def update_workflow(
    workflow_id: str, env: CurrentEnv, db: DbDep, body: Any = Body(None)
) -> dict[str, Any]:
    fields = parse(UpdateWorkflow, body).model_dump(exclude_unset=True)
    try:
        async with db.session() as session:
            row = await update_definition(
                session=session, environment_id=env.id, key=workflow_id, fields=fields
            )
            await emit(session, environment_id=env.id, event=WORKFLOW_UPDATED, data=workflow_data(row))
    except DefinitionError as exc:
        fail(exc)
    return ok(await view_one(db, env, row))


async def delete_workflow(workflow_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    try:
        async with db.session() as session:
            before = await get_definition(session=session, environment_id=env.id, key=workflow_id)
            identifier = before.trigger_identifier if before is not None else None
            await delete_definition(session=session, environment_id=env.id, key=workflow_id)
            if before is not None:
                data = workflow_data(before, identifier)
                await emit(session, environment_id=env.id, event=WORKFLOW_DELETED, data=data)
    except DefinitionError as exc:
        fail(exc)
    return ok(True)


async def update_status(
    workflow_id: str, env: CurrentEnv, db: DbDep, body: Any = Body(None)
) -> dict[str, Any]:
    status = parse(StatusBody, body)
    assert isinstance(status, StatusBody)
    try:
        async with db.session() as session:
            row = await set_status(
                session=session, environment_id=env.id, key=workflow_id, active=status.active
            )
            await emit(session, environment_id=env.id, event=WORKFLOW_UPDATED, data=workflow_data(row))
    except DefinitionError as exc:
        fail(exc)
    return ok(await view_one(db, env, row))


for base in BASES:
    router.add_api_route(base, list_workflows, methods=["GET"], response_model=Page[WorkflowOut])
    router.add_api_route(
        base, create_workflow, methods=["POST"], status_code=201, response_model=Data[WorkflowOut]
    )
    router.add_api_route(f"{base}/variables", variables, methods=["GET"], response_model=Data[VariablesOut])
    router.add_api_route(
        base + "/{workflow_id}", get_workflow, methods=["GET"], response_model=Data[WorkflowOut]
    )
    router.add_api_route(
        base + "/{workflow_id}", update_workflow, methods=["PUT"], response_model=Data[WorkflowOut]
    )
    router.add_api_route(
        base + "/{workflow_id}", delete_workflow, methods=["DELETE"], response_model=Data[bool]
    )
    router.add_api_route(
        base + "/{workflow_id}/status", update_status, methods=["PUT"], response_model=Data[WorkflowOut]
    )
