"""Subscriber preferences: storage, and the layering Novu applies to answer and to deliver.

The same :func:`merge_channels` answers ``GET …/preferences`` and decides delivery, so what a subscriber
sees is what the worker enforces.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import utcnow
from store.models import SubscriberPreference, WorkflowDefinition
from workflows.step_json import step_active, step_type

CHANNELS = ("in_app", "email", "sms", "chat", "push")
GLOBAL = "global"
TEMPLATE = "template"


class NothingToUpdate(Exception):
    """A second preference write that names neither ``enabled`` nor a channel."""

    def __init__(self) -> None:
        super().__init__("In order to make an update you need to provider channel or enabled")


def workflow_channels(definition: WorkflowDefinition) -> list[str]:
    """The channels of the workflow's active steps, in step order (code workflows list their outline)."""
    found: list[str] = []
    for step in definition.steps or []:
        kind = step_type(step)
        if step_active(step) and kind in CHANNELS and kind not in found:
            found.append(kind)
    return found


def merge_channels(
    channels: list[str] | tuple[str, ...],
    *,
    template: dict[str, Any] | None,
    override: dict[str, Any] | None = None,
    subscriber: dict[str, Any] | None = None,
) -> tuple[dict[str, bool], list[dict[str, str]]]:
    """Layer template → tenant workflow override → subscriber for ``channels``; the last setter wins.

    Returns the channel map and Novu's ``overrides`` list naming the source of each value.
    """
    values = dict.fromkeys(channels, True)
    sources = dict.fromkeys(channels, "template")
    for source, layer in (("template", template), ("workflowOverride", override), ("subscriber", subscriber)):
        for channel in channels:
            value = (layer or {}).get(channel)
            if value is not None:
                values[channel] = bool(value)
                sources[channel] = source
    return values, [{"channel": c, "source": sources[c]} for c in channels]


async def active_definitions(*, session: AsyncSession, environment_id: str) -> list[WorkflowDefinition]:
    stmt = (
        select(WorkflowDefinition)
        .where(
            WorkflowDefinition.environment_id == environment_id,
            col(WorkflowDefinition.active).is_(True),
            col(WorkflowDefinition.deleted).is_(False),
        )
        .order_by(col(WorkflowDefinition.created_at), col(WorkflowDefinition.id))
    )
    return list((await session.exec(stmt)).all())


async def subscriber_preferences(
    *, session: AsyncSession, subscriber_id: str, level: str | None = None
) -> list[SubscriberPreference]:
    """A subscriber's stored preferences (by internal id), optionally of one level."""
    stmt = select(SubscriberPreference).where(SubscriberPreference.subscriber_id == subscriber_id)
    if level is not None:
        stmt = stmt.where(SubscriberPreference.level == level)
    return list((await session.exec(stmt)).all())


async def get_preference(
    *, session: AsyncSession, subscriber_id: str, level: str, workflow_id: str | None = None
) -> SubscriberPreference | None:
    stmt = select(SubscriberPreference).where(
        SubscriberPreference.subscriber_id == subscriber_id, SubscriberPreference.level == level
    )
    stmt = stmt.where(
        col(SubscriberPreference.workflow_id).is_(None)
        if workflow_id is None
        else SubscriberPreference.workflow_id == workflow_id
    )
    return (await session.exec(stmt)).first()


async def update_preference(
    *,
    session: AsyncSession,
    environment_id: str,
    subscriber_id: str,
    level: str,
    workflow_id: str | None = None,
    enabled: bool | None = None,
    channels: dict[str, bool] | None = None,
) -> SubscriberPreference:
    """Novu's create-or-update: the first write creates (``enabled`` defaults true), later ones set
    only what is given, and an empty later write raises :class:`NothingToUpdate`."""
    row = await get_preference(
        session=session, subscriber_id=subscriber_id, level=level, workflow_id=workflow_id
    )
    if row is None:
        row = SubscriberPreference(
            environment_id=environment_id,
            subscriber_id=subscriber_id,
            level=level,
            workflow_id=workflow_id,
            enabled=enabled is not False,
            channels=dict(channels) if channels else None,
        )
    else:
        if enabled is None and not channels:
            raise NothingToUpdate()
        if enabled is not None:
            row.enabled = enabled
        if channels:
            row.channels = {**(row.channels or {}), **channels}
        row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    return row


async def set_schedule(
    *, session: AsyncSession, environment_id: str, subscriber_id: str, schedule: dict[str, Any] | None
) -> SubscriberPreference:
    """Store the subscriber's delivery schedule on their global preference (created if missing)."""
    row = await get_preference(session=session, subscriber_id=subscriber_id, level="global")
    if row is None:
        row = SubscriberPreference(
            environment_id=environment_id, subscriber_id=subscriber_id, level="global", workflow_id=None
        )
    row.schedule = schedule
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    return row


async def schedules_of(*, session: AsyncSession, subscriber_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Internal subscriber id → enabled delivery schedule, for a cohort (one query)."""
    if not subscriber_ids:
        return {}
    stmt = select(SubscriberPreference.subscriber_id, SubscriberPreference.schedule).where(
        col(SubscriberPreference.subscriber_id).in_(subscriber_ids),
        SubscriberPreference.level == "global",
        col(SubscriberPreference.schedule).is_not(None),
    )
    return {sid: dict(schedule) for sid, schedule in (await session.exec(stmt)).all() if schedule}


async def cohort_preferences(
    *, session: AsyncSession, subscriber_ids: list[str], workflow_id: str
) -> list[SubscriberPreference]:
    """The global and this workflow's preferences of a cohort of subscribers, in one query."""
    stmt = select(SubscriberPreference).where(
        col(SubscriberPreference.subscriber_id).in_(subscriber_ids),
        (SubscriberPreference.level == GLOBAL)
        | ((SubscriberPreference.level == TEMPLATE) & (SubscriberPreference.workflow_id == workflow_id)),
    )
    return list((await session.exec(stmt)).all())
