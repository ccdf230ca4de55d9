"""``/v1/subscribers/{id}/preferences``: workflow-level and global preferences, as Novu answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, StrictBool
from pydantic_core import PydanticCustomError

from api.deps import CurrentEnv, DbDep
from api.errors import BadRequest, NotFound
from api.preference_views import global_preference_view, workflow_preference_view
from api.responses import WorkflowPreferenceOut
from api.wire import Data, WireRouter, ok, query_bool
from store.definitions import get_definition
from store.preferences import (
    CHANNELS,
    GLOBAL,
    TEMPLATE,
    NothingToUpdate,
    active_definitions,
    get_preference,
    subscriber_preferences,
    update_preference,
)
from store.subscribers import get_subscriber
from store.tenancy import EnvironmentRef
from store.webhook_events import PREFERENCE_UPDATED, emit

router = WireRouter(prefix="/v1/subscribers", tags=["preferences"])


def _channel(value: str) -> str:
    if value not in CHANNELS:
        raise PydanticCustomError(
            "enum_invalid", "must be one of the following values: " + ", ".join(CHANNELS)
        )
    return value


Channel = Annotated[str, AfterValidator(_channel)]


class ChannelPreference(BaseModel):
    type: Channel
    enabled: StrictBool


class WorkflowPreferenceBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    enabled: StrictBool | None = None
    channel: ChannelPreference | None = None


class GlobalPreferenceBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    enabled: StrictBool | None = None
    preferences: list[ChannelPreference] | None = None


async def _workflow_preferences(
    env: EnvironmentRef, db: DbDep, subscriber_id: str, include_inactive: bool
) -> list[dict[str, Any]]:
    async with db.session() as session:
        sub = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
        if sub is None:
            raise BadRequest(f"Subscriber {subscriber_id} not found")
        definitions = await active_definitions(session=session, environment_id=env.id)
        stored = {
            p.workflow_id: p
            for p in await subscriber_preferences(session=session, subscriber_id=sub.id, level=TEMPLATE)
        }
    return [
        workflow_preference_view(d, stored.get(d.id), include_inactive_channels=include_inactive)
        for d in definitions
    ]


@router.get("/{subscriber_id}/preferences", response_model=Data[list[WorkflowPreferenceOut]])
async def list_preferences(
    subscriber_id: str,
    env: CurrentEnv,
    db: DbDep,
    includeInactiveChannels: str | None = Query(None),
) -> dict[str, Any]:
    """One entry per active workflow, channels limited to the workflow's own (unless asked for all)."""
    include = query_bool("includeInactiveChannels", includeInactiveChannels) or False
    return ok(await _workflow_preferences(env, db, subscriber_id, include))


@router.get("/{subscriber_id}/preferences/{level}", response_model=Data[list[WorkflowPreferenceOut]])
async def preferences_by_level(
    subscriber_id: str,
    level: str,
    env: CurrentEnv,
    db: DbDep,
    includeInactiveChannels: str | None = Query(None),
) -> dict[str, Any]:
    if level not in (GLOBAL, TEMPLATE):
        raise BadRequest(["level must be one of the following values: global, template"])
    if level == TEMPLATE:
        include = query_bool("includeInactiveChannels", includeInactiveChannels) or False
        return ok(await _workflow_preferences(env, db, subscriber_id, include))
    async with db.session() as session:
        sub = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
        if sub is None:
            raise BadRequest(f"Subscriber {subscriber_id} not found")
        row = await get_preference(session=session, subscriber_id=sub.id, level=GLOBAL)
    return ok([global_preference_view(row)])


@router.patch("/{subscriber_id}/preferences/{workflow_id}", response_model=Data[WorkflowPreferenceOut])
async def update_workflow_preference(
    subscriber_id: str, workflow_id: str, body: WorkflowPreferenceBody, env: CurrentEnv, db: DbDep
) -> dict[str, Any]:
    """``workflow_id`` is the workflow's ``_id`` or its trigger identifier."""
    async with db.session() as session:
        sub = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
        if sub is None:
            raise NotFound("Subscriber not found")
        definition = await get_definition(session=session, environment_id=env.id, key=workflow_id)
        if definition is None:
            raise NotFound(f"Template with id {workflow_id} is not found")
        try:
            row = await update_preference(
                session=session,
                environment_id=env.id,
                subscriber_id=sub.id,
                level=TEMPLATE,
                workflow_id=definition.id,
                enabled=body.enabled,
                channels={body.channel.type: body.channel.enabled} if body.channel else None,
            )
        except NothingToUpdate as exc:
            raise BadRequest(str(exc)) from exc
        data = {
            "subscriberId": subscriber_id,
            "level": "template",
            "workflowId": definition.trigger_identifier,
            "enabled": row.enabled,
            "channels": row.channels,
        }
        await emit(session, environment_id=env.id, event=PREFERENCE_UPDATED, data=data)
    return ok(workflow_preference_view(definition, row))


@router.patch("/{subscriber_id}/preferences", response_model=Data[WorkflowPreferenceOut])
async def update_global_preference(
    subscriber_id: str, body: GlobalPreferenceBody, env: CurrentEnv, db: DbDep
) -> dict[str, Any]:
    async with db.session() as session:
        sub = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
        if sub is None:
            raise NotFound("Subscriber not found")
        try:
            row = await update_preference(
                session=session,
                environment_id=env.id,
                subscriber_id=sub.id,
                level=GLOBAL,
                enabled=body.enabled,
                channels={p.type: p.enabled for p in body.preferences or []} or None,
            )
        except NothingToUpdate as exc:
            raise BadRequest(str(exc)) from exc
        data = {
            "subscriberId": subscriber_id,
            "level": "global",
            "enabled": row.enabled,
            "channels": row.channels,
        }
        await emit(session, environment_id=env.id, event=PREFERENCE_UPDATED, data=data)
    return ok(global_preference_view(row))
