"""Recurring schedule rows: every query is keyed by environment."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import utcnow
from store.models import RecurringSchedule


async def create_schedule(*, session: AsyncSession, environment_id: str, **fields: Any) -> RecurringSchedule:
    row = RecurringSchedule(environment_id=environment_id, **fields)
    session.add(row)
    await session.flush()
    return row


async def get_schedule(
    *, session: AsyncSession, environment_id: str, schedule_id: str
) -> RecurringSchedule | None:
    return (
        await session.exec(
            select(RecurringSchedule).where(
                RecurringSchedule.environment_id == environment_id, RecurringSchedule.id == schedule_id
            )
        )
    ).first()


async def list_schedules(
    *, session: AsyncSession, environment_id: str, offset: int = 0, limit: int | None = None
) -> tuple[list[RecurringSchedule], int]:
    where = RecurringSchedule.environment_id == environment_id
    stmt = (
        select(RecurringSchedule)
        .where(where)
        .order_by(col(RecurringSchedule.created_at), col(RecurringSchedule.id))
    )
    if limit is not None:
        stmt = stmt.offset(offset).limit(limit)
    rows = list((await session.exec(stmt)).all())
    total = (await session.exec(select(func.count()).select_from(RecurringSchedule).where(where))).one()
    return rows, int(total)


async def code_schedules(*, session: AsyncSession, environment_id: str) -> dict[str, RecurringSchedule]:
    rows = await session.exec(
        select(RecurringSchedule).where(
            RecurringSchedule.environment_id == environment_id, RecurringSchedule.origin == "code"
        )
    )
    return {row.key or "": row for row in rows.all()}


async def update_schedule(
    *, session: AsyncSession, row: RecurringSchedule, **fields: Any
) -> RecurringSchedule:
    for name, value in fields.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    return row


async def delete_schedule(*, session: AsyncSession, row: RecurringSchedule) -> None:
    await session.delete(row)
    await session.flush()
