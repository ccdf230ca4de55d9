"""Notification workflow definitions: lookup for the trigger path and syncing code-defined ones."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import utcnow
from store.ids import is_object_id
from store.models import NotificationGroup, WorkflowDefinition


async def get_definition(
    *, session: AsyncSession, environment_id: str, key: str, by_id: bool = True
) -> WorkflowDefinition | None:
    """A live definition by trigger identifier, or by ``_id`` when ``key`` looks like one."""
    stmt = select(WorkflowDefinition).where(
        WorkflowDefinition.environment_id == environment_id, col(WorkflowDefinition.deleted).is_(False)
    )
    if by_id and is_object_id(key):
        stmt = stmt.where((WorkflowDefinition.id == key) | (WorkflowDefinition.trigger_identifier == key))
    else:
        stmt = stmt.where(WorkflowDefinition.trigger_identifier == key)
    return (await session.exec(stmt)).first()


async def default_group(*, session: AsyncSession, environment_id: str) -> NotificationGroup:
    group = (
        await session.exec(
            select(NotificationGroup)
            .where(NotificationGroup.environment_id == environment_id)
            .order_by(col(NotificationGroup.created_at))
        )
    ).first()
    if group is None:
        group = NotificationGroup(environment_id=environment_id, name="General")
        session.add(group)
        await session.flush()
    return group


async def sync_code_definitions(
    *, session: AsyncSession, environment_id: str, definitions: list[dict[str, Any]]
) -> None:
    """Upsert the rows that list code-defined workflows (``origin='code'``) in one environment.

    A REST workflow that already owns the same trigger identifier is left alone.
    """
    if not definitions:
        return
    identifiers = [d["trigger_identifier"] for d in definitions]
    existing = {
        row.trigger_identifier: row
        for row in (
            await session.exec(
                select(WorkflowDefinition).where(
                    WorkflowDefinition.environment_id == environment_id,
                    col(WorkflowDefinition.trigger_identifier).in_(identifiers),
                )
            )
        ).all()
    }
    group = await default_group(session=session, environment_id=environment_id)
    for definition in definitions:
        row = existing.get(definition["trigger_identifier"])
        if row is not None and row.origin != "code":
            continue
        if row is None:
            row = WorkflowDefinition(
                environment_id=environment_id, notification_group_id=group.id, **definition
            )
        else:
            for key, value in definition.items():
                setattr(row, key, value)
            row.deleted = False
            row.updated_at = utcnow()
        session.add(row)
    await session.flush()
