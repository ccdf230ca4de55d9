"""A subscriber's Inbox (issue 11): the in-app ``messages`` rows the v1 feed also reads, filtered, counted
and changed the way Novu's Inbox API does. Keyword-only functions, reused by the v2 routes.

Every change here is announced through :func:`store.message_events.message_changed` in the same
transaction, so sockets (and later webhooks) hear about exactly the changes that commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, exists, func, literal, or_, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, array
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import utcnow
from store.message_events import message_changed
from store.messages import first_seen, json_conditions, set_action
from store.models import Message, WorkflowDefinition


@dataclass(frozen=True)
class InboxFilter:
    """Novu's notification filter: ``None`` means "either"."""

    read: bool | None = None
    seen: bool | None = None
    archived: bool | None = None
    snoozed: bool | None = None
    tags: tuple[str, ...] = ()
    data: dict[str, Any] | None = None

    def view(self) -> dict[str, Any]:
        """The filter as Novu echoes it back (``filter`` of a list, of each count)."""
        out: dict[str, Any] = {
            k: getattr(self, k)
            for k in ("read", "seen", "archived", "snoozed")
            if getattr(self, k) is not None
        }
        if self.tags:
            out["tags"] = list(self.tags)
        if self.data:
            out["data"] = self.data
        return out


def _tags_condition(session: AsyncSession, tags: tuple[str, ...]) -> Any:
    """The message carries at least one of ``tags``."""
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        return cast(col(Message.tags), JSONB).op("?|")(cast(array(list(tags)), ARRAY(Text)))
    each = func.json_each(col(Message.tags)).table_valued("value")
    return exists(select(literal(1)).select_from(each).where(each.c.value.in_(list(tags))))


def _conditions(
    session: AsyncSession, environment_id: str, subscriber_id: str, flt: InboxFilter, now: datetime
) -> list[Any]:
    where: list[Any] = [
        col(Message.environment_id) == environment_id,
        col(Message.subscriber_id) == subscriber_id,
        col(Message.channel) == "in_app",
        col(Message.deleted).is_(False),
    ]
    for name in ("read", "seen", "archived"):
        value = getattr(flt, name)
        if value is not None:
            where.append(col(getattr(Message, name)).is_(value))
    snoozed = col(Message.snoozed_until) > now
    # Snoozed notifications stay out of every list until they are due, unless asked for.
    if flt.snoozed:
        where.append(snoozed)
    else:
        where.append(or_(col(Message.snoozed_until).is_(None), col(Message.snoozed_until) <= now))
    if flt.tags:
        where.append(_tags_condition(session, flt.tags))
    where.extend(json_conditions(session, flt.data or {}, col(Message.data)))
    return where


async def list_notifications(
    *,
    session: AsyncSession,
    environment_id: str,
    subscriber_id: str,
    flt: InboxFilter,
    limit: int,
    offset: int = 0,
    after: str | None = None,
) -> tuple[list[Message], bool]:
    """Newest first; ``after`` is the id of the last notification of the previous page (a cursor)."""
    where = _conditions(session, environment_id, subscriber_id, flt, utcnow())
    if after:
        cursor = (
            await session.exec(
                select(Message.created_at).where(
                    Message.id == after,
                    Message.environment_id == environment_id,
                    Message.subscriber_id == subscriber_id,
                )
            )
        ).first()
        if cursor is None:
            return [], False
        where.append(
            or_(
                col(Message.created_at) < cursor,
                (col(Message.created_at) == cursor) & (col(Message.id) < after),
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
    *, session: AsyncSession, environment_id: str, subscriber_id: str, flt: InboxFilter
) -> int:
    where = _conditions(session, environment_id, subscriber_id, flt, utcnow())
    return int((await session.exec(select(func.count()).select_from(Message).where(*where))).one())


async def get_notification(
    *, session: AsyncSession, environment_id: str, subscriber_id: str, message_id: str
) -> Message | None:
    """One of the subscriber's own in-app messages (another subscriber's id is simply not found)."""
    stmt = select(Message).where(
        Message.id == message_id,
        Message.environment_id == environment_id,
        Message.subscriber_id == subscriber_id,
        Message.channel == "in_app",
        col(Message.deleted).is_(False),
    )
    return (await session.exec(stmt)).first()


def change_values(change: str, *, snooze_until: datetime | None = None) -> dict[str, Any]:
    """The columns each Inbox change sets (archiving also reads, as Novu does)."""
    now = utcnow()
    seen = {"seen": True, "last_seen_date": now, **first_seen(now)}
    values: dict[str, dict[str, Any]] = {
        "seen": seen,
        "read": {**seen, "read": True, "last_read_date": now},
        "unread": {"read": False},
        "archived": {**seen, "read": True, "last_read_date": now, "archived": True, "archived_at": now},
        "unarchived": {"archived": False, "archived_at": None},
        "snoozed": {"snoozed_until": snooze_until},
        "unsnoozed": {"snoozed_until": None},
        "deleted": {"deleted": True},
    }
    return {**values[change], "updated_at": now}


#: For bulk changes: only messages whose state differs are changed (and announced).
DIFFERS: dict[str, dict[str, bool]] = {
    "seen": {"seen": False},
    "read": {"read": False},
    "archived": {"archived": False},
    "deleted": {},
}


async def change_notifications(
    *,
    session: AsyncSession,
    environment_id: str,
    subscriber_id: str,
    change: str,
    message_ids: list[str] | None = None,
    flt: InboxFilter | None = None,
    snooze_until: datetime | None = None,
) -> list[str]:
    """Apply ``change`` to the given messages, or to every message matching ``flt``; returns the ids
    changed, already announced."""
    if message_ids is not None:
        where: list[Any] = [
            col(Message.environment_id) == environment_id,
            col(Message.subscriber_id) == subscriber_id,
            col(Message.channel) == "in_app",
            col(Message.deleted).is_(False),
            col(Message.id).in_(message_ids),
        ]
    else:
        where = _conditions(session, environment_id, subscriber_id, flt or InboxFilter(), utcnow())
        where += [col(getattr(Message, k)).is_(v) for k, v in DIFFERS.get(change, {}).items()]
    ids = list((await session.exec(select(Message.id).where(*where))).all())
    if not ids:
        return []
    await session.exec(  # type: ignore[call-overload]
        update(Message)
        .where(col(Message.id).in_(ids))
        .values(**change_values(change, snooze_until=snooze_until))
        .execution_options(synchronize_session=False)
    )
    await message_changed(
        session=session,
        environment_id=environment_id,
        subscriber_id=subscriber_id,
        event=change,
        message_ids=ids,
    )
    return ids


async def change_action(*, session: AsyncSession, message: Message, action_type: str, status: str) -> Message:
    """Complete (``done``) or revert (``pending``) a primary/secondary action, announced."""
    message = await set_action(
        session=session, message=message, button=action_type, status=status, payload=None
    )
    await message_changed(
        session=session,
        environment_id=message.environment_id,
        subscriber_id=message.subscriber_id,
        event="action",
        message_ids=[message.id],
    )
    return message


async def reload(*, session: AsyncSession, message_id: str) -> Message | None:
    stmt = select(Message).where(Message.id == message_id).execution_options(populate_existing=True)
    return (await session.exec(stmt)).first()


async def live_messages(
    *, session: AsyncSession, environment_id: str, subscriber_id: str, ids: list[str]
) -> list[Message]:
    """The subscriber's messages among ``ids`` that are not deleted, oldest first (what a socket is sent)."""
    stmt = select(Message).where(
        col(Message.id).in_(ids),
        Message.environment_id == environment_id,
        Message.subscriber_id == subscriber_id,
        col(Message.deleted).is_(False),
    )
    return sorted((await session.exec(stmt)).all(), key=lambda m: (m.created_at, m.id))


async def workflows_for(*, session: AsyncSession, messages: list[Message]) -> dict[str, WorkflowDefinition]:
    """The notification workflows the messages came from (for each notification's ``workflow``)."""
    ids = {m.workflow_id for m in messages if m.workflow_id}
    if not ids:
        return {}
    stmt = select(WorkflowDefinition).where(col(WorkflowDefinition.id).in_(sorted(ids)))
    return {w.id: w for w in (await session.exec(stmt)).all()}
