"""A subscriber's in-app notifications as Novu's v2 routes filter and change them.

The rows are the v1 feed's (``messages`` with ``channel = 'in_app'``); only existing columns are
read or written. A change sets the columns the Inbox's change of the same name sets (``store.inbox``), so
``firstSeenAt`` and ``archivedAt`` mean the same whichever API changed the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, false, literal_column, or_, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import cast, col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import utcnow
from store.inbox import change_notifications, change_values, reload
from store.message_events import MessageChange, announce
from store.messages import data_conditions
from store.models import Message

#: The one severity Tidings messages carry (workflows have no severity setting yet).
SEVERITY = "none"


@dataclass
class NotificationFilter:
    """Novu's ``NotificationFilter``: every given field must hold (``tags``: any of them)."""

    read: bool | None = None
    seen: bool | None = None
    archived: bool | None = None
    snoozed: bool | None = None
    tags: list[str] | None = None
    data: dict[str, Any] | None = None
    severity: list[str] | None = None
    created_gte: int | None = None  # Unix milliseconds
    created_lte: int | None = None


def _millis(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _tags_any(session: AsyncSession, tags: list[str]) -> Any:
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        return or_(*[cast(col(Message.tags), JSONB).contains([t]) for t in tags])
    each = func.json_each(col(Message.tags)).table_valued("value")
    return exists(select(literal_column("1")).select_from(each).where(each.c.value.in_(tags)))


def conditions(
    session: AsyncSession, *, environment_id: str, subscriber_id: str, flt: NotificationFilter
) -> list[Any]:
    """WHERE clauses for the subscriber's live in-app messages matching ``flt``."""
    where: list[Any] = [
        Message.environment_id == environment_id,
        Message.subscriber_id == subscriber_id,
        Message.channel == "in_app",
        col(Message.deleted).is_(False),
    ]
    for name in ("read", "seen", "archived"):
        value = getattr(flt, name)
        if value is not None:
            where.append(col(getattr(Message, name)) == value)
    if flt.snoozed is not None:
        now = utcnow()
        snoozed = col(Message.snoozed_until).is_not(None) & (col(Message.snoozed_until) > now)
        where.append(snoozed if flt.snoozed else ~snoozed)
    if flt.severity is not None and SEVERITY not in flt.severity:
        where.append(false())
    if flt.tags:
        where.append(_tags_any(session, flt.tags))
    if flt.data:
        where.extend(data_conditions(session, flt.data))
    if flt.created_gte is not None:
        where.append(col(Message.created_at) >= _millis(flt.created_gte))
    if flt.created_lte is not None:
        where.append(col(Message.created_at) <= _millis(flt.created_lte))
    return where


class UnknownCursor(Exception):
    """``after`` names no notification of this subscriber."""


async def list_notifications(
    *,
    session: AsyncSession,
    environment_id: str,
    subscriber_id: str,
    flt: NotificationFilter,
    limit: int,
    after: str | None = None,
    offset: int = 0,
) -> tuple[list[Message], bool]:
    """Newest first; ``after`` continues below a notification id, ``offset`` skips. Returns (rows, more)."""
    where = conditions(session, environment_id=environment_id, subscriber_id=subscriber_id, flt=flt)
    if after:
        anchor = (
            await session.exec(
                select(Message.created_at, Message.id).where(
                    Message.environment_id == environment_id,
                    Message.subscriber_id == subscriber_id,
                    Message.id == after,
                )
            )
        ).first()
        if anchor is None:
            raise UnknownCursor(after)
        created, ident = anchor
        where.append(
            or_(
                col(Message.created_at) < created,
                (col(Message.created_at) == created) & (col(Message.id) < ident),
            )
        )
    stmt = (
        select(Message)
        .where(*where)
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
        .offset(offset)
        .limit(limit + 1)
    )
    rows = list((await session.exec(stmt)).all())
    return rows[:limit], len(rows) > limit


async def count_notifications(
    *, session: AsyncSession, environment_id: str, subscriber_id: str, flt: NotificationFilter
) -> int:
    where = conditions(session, environment_id=environment_id, subscriber_id=subscriber_id, flt=flt)
    return int((await session.exec(select(func.count()).select_from(Message).where(*where))).one())


async def get_notification(
    *, session: AsyncSession, environment_id: str, subscriber_id: str, notification_id: str
) -> Message | None:
    stmt = select(Message).where(
        Message.environment_id == environment_id,
        Message.subscriber_id == subscriber_id,
        Message.id == notification_id,
        Message.channel == "in_app",
        col(Message.deleted).is_(False),
    )
    return (await session.exec(stmt)).first()


#: v2 action → the Inbox's change of the same name (``store.inbox.change_values``: the columns it sets, and
#: the event the Inbox's sockets hear through store/message_events.py, the one entry point).
EVENT_OF = {
    "read": "read",
    "unread": "unread",
    "seen": "seen",
    "archive": "archived",
    "unarchive": "unarchived",
    "delete": "deleted",
}


async def change_one(*, session: AsyncSession, message: Message, action: str) -> Message:
    """Apply one v2 action to one notification (announced); returns the row as stored."""
    await change_notifications(
        session=session,
        environment_id=message.environment_id,
        subscriber_id=message.subscriber_id,
        change=EVENT_OF[action],
        message_ids=[message.id],
    )
    fresh = await reload(session=session, message_id=message.id)
    assert fresh is not None  # deleting only flags the row
    return fresh


async def change_all(
    *,
    session: AsyncSession,
    environment_id: str,
    subscriber_id: str,
    flt: NotificationFilter,
    action: str,
    ids: list[str] | None = None,
) -> int:
    """Apply ``action`` to every matching notification (``ids``: only those); returns how many changed."""
    where = conditions(session, environment_id=environment_id, subscriber_id=subscriber_id, flt=flt)
    if ids is not None:
        where.append(col(Message.id).in_(ids))
    result = await session.exec(update(Message).where(*where).values(**change_values(EVENT_OF[action])))  # type: ignore[call-overload]
    changed = int(result.rowcount or 0)
    if changed:
        await announce(
            session=session,
            changes=[
                MessageChange(
                    environment_id, subscriber_id, EVENT_OF[action], ids if ids and len(ids) <= 100 else None
                )
            ],
        )
    return changed
