"""``/v2/subscribers/{id}/preferences``: list (``criticality``), update (workflow or global), bulk.

The same preference rows as ``/v1/subscribers/{id}/preferences`` and the Inbox, and the same merge
(:func:`store.preferences.merge_channels`) the worker applies when it delivers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import CurrentEnv, DbDep
from api.errors import BadRequest, NotFound
from api.preference_views import global_preference_view, v2_workflow_preference_view
from api.responses_v2 import PreferencesV2Out, WorkflowPreferenceV2
from api.wire import Data, WireRouter, ok
from store.definitions import get_definition
from store.models import Subscriber, WorkflowDefinition
from store.preferences import (
    GLOBAL,
    TEMPLATE,
    NothingToUpdate,
    active_definitions,
    merge_channels,
    subscriber_preferences,
    update_preference,
    workflow_channels,
)
from store.subscribers import get_subscriber
from store.tenancy import EnvironmentRef

router = WireRouter(prefix="/v2/subscribers", tags=["preferences v2"])

CRITICALITY = ("critical", "nonCritical", "all")


class Channels(BaseModel):
    """Novu's ``PatchPreferenceChannelsDto`` (the ``tool`` channel has no Tidings counterpart)."""

    model_config = ConfigDict(extra="ignore")
    email: StrictBool | None = None
    sms: StrictBool | None = None
    in_app: StrictBool | None = None
    push: StrictBool | None = None
    chat: StrictBool | None = None

    def given(self) -> dict[str, bool]:
        return {c: v for c, v in self.model_dump().items() if v is not None}


class PatchPreferencesBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    workflowId: str | None = None
    channels: Channels | None = None
    schedule: dict[str, Any] | None = None


class BulkItem(BaseModel):
    model_config = ConfigDict(extra="ignore")
    workflowId: Annotated[str, Field(min_length=1)]
    channels: Channels


class BulkBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    preferences: Annotated[list[BulkItem], Field(min_length=1, max_length=100)]


async def _require_subscriber(session: AsyncSession, env: EnvironmentRef, subscriber_id: str) -> Subscriber:
    sub = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
    if sub is None:
        raise NotFound(f"Subscriber with id: {subscriber_id} not found")
    return sub


async def _require_workflow(
    session: AsyncSession, env: EnvironmentRef, workflow_id: str
) -> WorkflowDefinition:
    definition = await get_definition(session=session, environment_id=env.id, key=workflow_id)
    if definition is None:
        raise NotFound(f"Workflow with id: {workflow_id} is not found")
    return definition


async def _preferences(
    session: AsyncSession, env: EnvironmentRef, sub: Subscriber, criticality: str
) -> dict[str, Any]:
    definitions = await active_definitions(session=session, environment_id=env.id)
    if criticality == "critical":
        definitions = [d for d in definitions if d.critical]
    elif criticality == "nonCritical":
        definitions = [d for d in definitions if not d.critical]
    rows = await subscriber_preferences(session=session, subscriber_id=sub.id)
    stored = {p.workflow_id: p for p in rows if p.level == TEMPLATE}
    global_row = next((p for p in rows if p.level == GLOBAL), None)
    return {
        "global": global_preference_view(global_row)["preference"],
        "workflows": [v2_workflow_preference_view(d, stored.get(d.id)) for d in definitions],
    }


@router.get("/{subscriber_id}/preferences", response_model=Data[PreferencesV2Out])
async def list_preferences(
    subscriber_id: str, env: CurrentEnv, db: DbDep, criticality: str | None = Query(None)
) -> dict[str, Any]:
    """Global preference and one entry per active workflow (non-critical ones unless asked)."""
    wanted = criticality or "nonCritical"
    if wanted not in CRITICALITY:
        raise BadRequest([f"criticality must be one of the following values: {', '.join(CRITICALITY)}"])
    async with db.session() as session:
        sub = await _require_subscriber(session, env, subscriber_id)
        return ok(await _preferences(session, env, sub, wanted))


@router.patch("/{subscriber_id}/preferences", response_model=Data[PreferencesV2Out])
async def update_preferences(
    subscriber_id: str, body: PatchPreferencesBody, env: CurrentEnv, db: DbDep
) -> dict[str, Any]:
    """With ``workflowId``: that workflow's channels; without: the global ones. Answers the full list."""
    if body.schedule is not None:
        raise BadRequest(["schedule is not supported by Tidings yet"])
    channels = body.channels.given() if body.channels else {}
    async with db.session() as session:
        sub = await _require_subscriber(session, env, subscriber_id)
        definition = await _require_workflow(session, env, body.workflowId) if body.workflowId else None
        try:
            await update_preference(
                session=session,
                environment_id=env.id,
                subscriber_id=sub.id,
                level=TEMPLATE if definition else GLOBAL,
                workflow_id=definition.id if definition else None,
                channels=channels or None,
            )
        except NothingToUpdate:
            pass  # nothing named: the stored preference stays as it is
        return ok(
            await _preferences(
                session, env, sub, "all" if definition and definition.critical else "nonCritical"
            )
        )


@router.patch("/{subscriber_id}/preferences/bulk", response_model=Data[list[WorkflowPreferenceV2]])
async def bulk_update(subscriber_id: str, body: BulkBody, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    """Every workflow is looked up first, so an unknown one changes nothing (404)."""
    async with db.session() as session:
        sub = await _require_subscriber(session, env, subscriber_id)
        definitions = [await _require_workflow(session, env, item.workflowId) for item in body.preferences]
        answers: list[dict[str, Any]] = []
        for definition, item in zip(definitions, body.preferences, strict=True):
            channels = item.channels.given()
            try:
                row = await update_preference(
                    session=session,
                    environment_id=env.id,
                    subscriber_id=sub.id,
                    level=TEMPLATE,
                    workflow_id=definition.id,
                    channels=channels or None,
                )
            except NothingToUpdate:
                row = next(
                    p
                    for p in await subscriber_preferences(
                        session=session, subscriber_id=sub.id, level=TEMPLATE
                    )
                    if p.workflow_id == definition.id
                )
            merged, _ = merge_channels(
                workflow_channels(definition),
                template=definition.preference_settings,
                subscriber=row.channels,
            )
            answers.append(
                {
                    "level": TEMPLATE,
                    "enabled": row.enabled,
                    "channels": merged,
                    "workflow": {
                        "id": definition.id,
                        "identifier": definition.trigger_identifier,
                        "name": definition.name,
                        "critical": definition.critical,
                        "severity": "none",
                        "tags": definition.tags or [],
                    },
                }
            )
    return ok(answers)
