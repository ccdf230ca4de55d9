"""``/v1/inbox/preferences``: the subscriber's global and per-workflow channel preferences, on the same
rows the v1 ``/subscribers/{id}/preferences`` routes and the worker's delivery checks use."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import DbDep
from api.errors import BadRequest, NotFound
from api.inbox_auth import InboxDep, InboxSession
from api.inbox_views import inbox_global_preference_view, inbox_workflow_preference_view
from api.responses_v2 import InboxPreferenceOut
from api.routers.subscriber_schedule import ScheduleBody
from api.wire import Data, WireRouter, ok
from store.definitions import get_definition
from store.models import SubscriberPreference, WorkflowDefinition
from store.preferences import (
    CHANNELS,
    GLOBAL,
    TEMPLATE,
    active_definitions,
    get_preference,
    set_schedule,
    subscriber_preferences,
    update_preference,
)

router = WireRouter(prefix="/v1/inbox/preferences", tags=["inbox"])


class ChannelsBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    in_app: StrictBool | None = None
    email: StrictBool | None = None
    sms: StrictBool | None = None
    chat: StrictBool | None = None
    push: StrictBool | None = None

    def channels(self) -> dict[str, bool]:
        return {c: v for c in CHANNELS if (v := getattr(self, c)) is not None}


class BulkItem(ChannelsBody):
    workflowId: str = Field(min_length=1)


class BulkBody(BaseModel):
    preferences: list[BulkItem] = Field(max_length=100)


class GlobalBody(ChannelsBody):
    """``PATCH /v1/inbox/preferences``: channels and/or the delivery schedule (``preferences.schedule``
    of @novu/js), which holds back email, SMS, push and chat outside its hours (docs/send-windows.md)."""

    schedule: ScheduleBody | None = None


@router.get("", response_model=Data[list[InboxPreferenceOut]])
async def list_preferences(request: Request, inbox: InboxDep, db: DbDep) -> dict[str, Any]:
    """The global preference, then one per active non-critical workflow (``tags[]`` narrows them)."""
    tags = {v for k, v in request.query_params.multi_items() if k in ("tags", "tags[]")}
    async with db.session() as s:
        definitions = await active_definitions(session=s, environment_id=inbox.environment_id)
        stored = await subscriber_preferences(session=s, subscriber_id=inbox.subscriber.id)
    by_workflow = {p.workflow_id: p for p in stored if p.level == TEMPLATE}
    global_row = next((p for p in stored if p.level == GLOBAL), None)
    views = [inbox_global_preference_view(global_row)]
    for d in definitions:
        if d.critical or (tags and not tags.intersection(d.tags or [])):
            continue
        views.append(inbox_workflow_preference_view(d, by_workflow.get(d.id)))
    return ok(views)


@router.get("/global", response_model=Data[InboxPreferenceOut])
async def get_global(inbox: InboxDep, db: DbDep) -> dict[str, Any]:
    async with db.session() as s:
        row = await get_preference(session=s, subscriber_id=inbox.subscriber.id, level=GLOBAL)
    return ok(inbox_global_preference_view(row))


async def _update(
    s: AsyncSession,
    inbox: InboxSession,
    level: str,
    channels: dict[str, bool],
    workflow_id: str | None = None,
) -> SubscriberPreference | None:
    """Set the given channels; a body without channels (e.g. only a schedule) changes nothing."""
    if not channels:
        return await get_preference(
            session=s, subscriber_id=inbox.subscriber.id, level=level, workflow_id=workflow_id
        )
    return await update_preference(
        session=s,
        environment_id=inbox.environment_id,
        subscriber_id=inbox.subscriber.id,
        level=level,
        workflow_id=workflow_id,
        channels=channels,
    )


@router.patch("", response_model=Data[InboxPreferenceOut])
async def update_global(body: GlobalBody, inbox: InboxDep, db: DbDep) -> dict[str, Any]:
    async with db.session() as s:
        row = await _update(s, inbox, GLOBAL, body.channels())
        if body.schedule is not None:
            row = await set_schedule(
                session=s,
                environment_id=inbox.environment_id,
                subscriber_id=inbox.subscriber.id,
                schedule=body.schedule.model_dump(exclude_none=True),
            )
    return ok(inbox_global_preference_view(row))


async def _workflow(s: AsyncSession, inbox: InboxSession, key: str) -> WorkflowDefinition:
    definition = await get_definition(session=s, environment_id=inbox.environment_id, key=key)
    if definition is None:
        raise NotFound(f"Workflow with id: {key} is not found")
    if definition.critical:
        raise BadRequest(f"Critical workflow {key} preferences cannot be updated")
    return definition


@router.patch("/bulk", response_model=Data[list[InboxPreferenceOut]])
async def update_bulk(body: BulkBody, inbox: InboxDep, db: DbDep) -> dict[str, Any]:
    """All or nothing: an unknown workflow fails the whole request before anything is written."""
    async with db.session() as s:
        definitions = [await _workflow(s, inbox, item.workflowId) for item in body.preferences]
        views = []
        for item, definition in zip(body.preferences, definitions, strict=True):
            row = await _update(s, inbox, TEMPLATE, item.channels(), definition.id)
            views.append(inbox_workflow_preference_view(definition, row))
    return ok(views)


@router.patch("/{workflow_id}", response_model=Data[InboxPreferenceOut])
async def update_workflow(workflow_id: str, body: ChannelsBody, inbox: InboxDep, db: DbDep) -> dict[str, Any]:
    """``workflow_id`` is the workflow's id or its trigger identifier."""
    async with db.session() as s:
        definition = await _workflow(s, inbox, workflow_id)
        row = await _update(s, inbox, TEMPLATE, body.channels(), definition.id)
    return ok(inbox_workflow_preference_view(definition, row))
