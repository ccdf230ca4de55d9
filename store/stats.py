"""Activity statistics for Novu's ``/v1/notifications/stats`` and ``/v1/notifications/graph/stats``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.models import Message, Notification


@dataclass(frozen=True)
class SentCounts:
    weekly: int
    monthly: int


@dataclass
class DayActivity:
    """One UTC day of messages: how many, and the workflow definitions and channels seen, in order."""

    day: str  # YYYY-MM-DD
    count: int = 0
    definition_ids: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)


async def sent_counts(*, session: AsyncSession, environment_id: str, now: datetime) -> SentCounts:
    """Notifications (one per transaction and subscriber) of the last 7 and the last 30 days."""

    async def since(start: datetime) -> int:
        stmt = select(func.count()).where(
            Notification.environment_id == environment_id, col(Notification.created_at) >= start
        )
        return int((await session.exec(stmt)).one())

    return SentCounts(
        weekly=await since(now - timedelta(days=7)), monthly=await since(now - timedelta(days=30))
    )


async def daily_graph(
    *, session: AsyncSession, environment_id: str, now: datetime, days: int
) -> list[DayActivity]:
    """Per day (UTC): messages counted, with the workflows and channels seen; newest first."""
    start = (now - timedelta(days=days)).astimezone(UTC)
    stmt = select(Message.created_at, Message.channel, Message.workflow_id).where(
        Message.environment_id == environment_id, col(Message.created_at) >= start
    )
    by_day: dict[str, DayActivity] = {}
    for created, channel, definition_id in (await session.exec(stmt)).all():
        day = created.astimezone(UTC).strftime("%Y-%m-%d")
        entry = by_day.setdefault(day, DayActivity(day=day))
        entry.count += 1
        if definition_id and definition_id not in entry.definition_ids:
            entry.definition_ids.append(definition_id)
        if channel and channel not in entry.channels:
            entry.channels.append(channel)
    return [by_day[d] for d in sorted(by_day, reverse=True)]
