"""Activity statistics for Novu's ``/v1/notifications/stats`` and ``/v1/notifications/graph/stats``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.models import Message, Notification


async def sent_counts(*, session: AsyncSession, environment_id: str, now: datetime) -> dict[str, int]:
    """Notifications (one per transaction and subscriber) of the last 7 and the last 30 days."""

    async def since(start: datetime) -> int:
        stmt = select(func.count()).where(
            Notification.environment_id == environment_id, col(Notification.created_at) >= start
        )
        return int((await session.exec(stmt)).one())

    return {
        "weeklySent": await since(now - timedelta(days=7)),
        "monthlySent": await since(now - timedelta(days=30)),
    }


async def daily_graph(
    *, session: AsyncSession, environment_id: str, now: datetime, days: int
) -> list[dict[str, Any]]:
    """Per day (UTC): messages counted per channel, with the workflows and channels seen; newest first."""
    start = (now - timedelta(days=days)).astimezone(UTC)
    stmt = select(Message.created_at, Message.channel, Message.workflow_id).where(
        Message.environment_id == environment_id, col(Message.created_at) >= start
    )
    by_day: dict[str, dict[str, Any]] = {}
    for created, channel, workflow in (await session.exec(stmt)).all():
        day = created.astimezone(UTC).strftime("%Y-%m-%d")
        entry = by_day.setdefault(day, {"_id": day, "count": 0, "templates": [], "channels": []})
        entry["count"] += 1
        if workflow and workflow not in entry["templates"]:
            entry["templates"].append(workflow)
        if channel and channel not in entry["channels"]:
            entry["channels"].append(channel)
    return [by_day[d] for d in sorted(by_day, reverse=True)]
