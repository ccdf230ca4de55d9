"""Messages (the in-app feed), notifications and execution details."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import cast, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import Database, insert_returning, insert_rows, rows_for, select_keyed, utcnow
from store.models import ExecutionDetail, Feed, Message, Notification

DELIVERY_KEY = ["environment_id", "transaction_id", "subscriber_id", "step_id"]


async def record_messages(
    *, db: Database, session: AsyncSession, rows: list[dict[str, Any]]
) -> dict[str, str]:
    """Insert message rows once per (transaction, subscriber, step); returns subscriber → message id.

    A retried activity finds the rows it wrote before and gets their ids back instead of duplicates.
    """
    if not rows:
        return {}
    table_rows = rows_for(Message, rows)
    first = rows[0]
    wanted = [r["subscriber_id"] for r in rows]
    # PostgreSQL hands back the ids it inserted, SQLite's are the generated ones when every row went in;
    # only rows that were already there (a retried activity) are read back. Reading all of them back cost more than inserting them: the planner, whose
    # statistics lag a fan-out's fresh rows, scans the whole transaction's index range per call.
    new = await insert_returning(
        session, Message, table_rows, conflict=DELIVERY_KEY, returning=["subscriber_id", "id"]
    )
    if new is None:
        new = await _insert_all_or_none(db, session, Message, table_rows, DELIVERY_KEY)
    ids: dict[str, str] = {sub: mid for sub, mid in new or []}
    missing = [sid for sid in wanted if sid not in ids]
    if missing:
        where = {k: first[k] for k in ("environment_id", "transaction_id", "step_id")}
        ids.update(await _existing_ids(session, Message, where, missing))
    return ids


async def existing_messages(
    *,
    session: AsyncSession,
    environment_id: str,
    transaction_id: str,
    step_id: str,
    subscriber_ids: list[str],
) -> dict[str, Message]:
    """Messages already recorded for this step of this transaction (what a retry must not send again)."""
    if not subscriber_ids:
        return {}
    stmt = select(Message).where(
        Message.environment_id == environment_id,
        Message.transaction_id == transaction_id,
        Message.step_id == step_id,
        col(Message.subscriber_id).in_(subscriber_ids),
    )
    return {m.subscriber_id: m for m in (await session.exec(stmt)).all()}


async def record_notifications(
    *, db: Database, session: AsyncSession, rows: list[dict[str, Any]]
) -> dict[str, str]:
    """One notification per (transaction, subscriber); returns subscriber → notification id."""
    if not rows:
        return {}
    table_rows = rows_for(Notification, rows)
    conflict = ["environment_id", "transaction_id", "subscriber_id"]
    new = await insert_returning(
        session, Notification, table_rows, conflict=conflict, returning=["subscriber_id", "id"]
    )
    if new is None:
        new = await _insert_all_or_none(db, session, Notification, table_rows, conflict)
    ids: dict[str, str] = {sub: nid for sub, nid in new or []}
    missing = [r["subscriber_id"] for r in rows if r["subscriber_id"] not in ids]
    if missing:
        where = {k: rows[0][k] for k in ("environment_id", "transaction_id")}
        ids.update(await _existing_ids(session, Notification, where, missing))
    return ids


async def _insert_all_or_none(
    db: Database, session: AsyncSession, table: Any, rows: list[dict[str, Any]], conflict: list[str]
) -> list[tuple[str, str]] | None:
    """Insert ignoring conflicts where ``RETURNING`` is not used (SQLite's executemany cannot return rows).

    When the driver counts every row inserted, the ids are the ones just generated: (subscriber, id)
    pairs, and a first attempt reads nothing back. Otherwise (a retry: some rows were there) ``None``,
    and the caller reads the existing ids.
    """
    inserted = await db.insert_ignore(session, table, rows, conflict=conflict)
    if inserted != len(rows):
        return None
    return [(r["subscriber_id"], r["id"]) for r in rows]


async def add_details(*, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Append execution details (Novu's ``detail`` strings with status and source)."""
    await insert_rows(session, ExecutionDetail, rows_for(ExecutionDetail, rows))


async def details_for(
    *, session: AsyncSession, environment_id: str, transaction_id: str, subscriber_id: str | None = None
) -> list[ExecutionDetail]:
    stmt = select(ExecutionDetail).where(
        ExecutionDetail.environment_id == environment_id, ExecutionDetail.transaction_id == transaction_id
    )
    if subscriber_id is not None:
        stmt = stmt.where(ExecutionDetail.subscriber_id == subscriber_id)
    return list(
        (await session.exec(stmt.order_by(col(ExecutionDetail.created_at), col(ExecutionDetail.id)))).all()
    )


def flatten(value: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """``{"foo": {"bar": 1}}`` → ``{("foo", "bar"): 1}``: the dotted keys Novu's payload filter compares."""
    flat: dict[tuple[str, ...], Any] = {}
    for key, item in value.items():
        path = (*prefix, str(key))
        if isinstance(item, dict) and item:
            flat.update(flatten(item, path))
        else:
            flat[path] = item
    return flat


def json_conditions(session: AsyncSession, payload: dict[str, Any], column: Any = None) -> list[Any]:
    """SQL conditions for "every flattened key of ``payload`` equals the message payload's" (or the
    JSON ``column``'s, e.g. ``Message.data`` for the Inbox's ``data`` filter)."""
    if not payload:
        return []
    column = col(Message.payload) if column is None else column
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        return [cast(column, JSONB).contains(payload)]
    conditions: list[Any] = []
    for path, expected in flatten(payload).items():
        json_path = "$" + "".join('."' + p.replace('"', '\\"') + '"' for p in path)
        extracted = func.json_extract(column, json_path)
        if expected is None:
            conditions.append(extracted.is_(None))
        elif isinstance(expected, dict | list):
            conditions.append(func.json(extracted) == json.dumps(expected, separators=(",", ":")))
        elif isinstance(expected, bool):
            conditions.append(func.json_type(column, json_path) == ("true" if expected else "false"))
        else:
            conditions.append(extracted == expected)
    return conditions


def data_conditions(session: AsyncSession, data: dict[str, Any]) -> list[Any]:
    """The payload filter applied to a message's ``data`` (the v2 notification routes' ``data`` filter)."""
    return _payload_conditions(session, data, col(Message.data))


def _inbox(environment_id: str, subscriber_id: str) -> Any:
    return select(Message).where(
        Message.environment_id == environment_id,
        Message.subscriber_id == subscriber_id,
        Message.channel == "in_app",
        col(Message.deleted).is_(False),
    )


async def feed_ids_for(*, session: AsyncSession, environment_id: str, identifiers: list[str]) -> list[str]:
    """Feed identifiers → feed ids (what messages reference)."""
    stmt = select(Feed.id).where(Feed.environment_id == environment_id, col(Feed.identifier).in_(identifiers))
    return list((await session.exec(stmt)).all())


async def feed_page(
    *,
    session: AsyncSession,
    environment_id: str,
    subscriber_id: str,
    page: int,
    limit: int,
    seen: bool | None = None,
    read: bool | None = None,
    feed_ids: list[str] | None = None,
    payload: dict[str, Any] | None = None,
) -> tuple[list[Message], bool]:
    """One page of a subscriber's in-app feed, newest first, and whether more follow."""
    stmt = _inbox(environment_id, subscriber_id)
    if seen is not None:
        stmt = stmt.where(Message.seen == seen)
    if read is not None:
        stmt = stmt.where(Message.read == read)
    if feed_ids is not None:
        stmt = stmt.where(col(Message.feed_id).in_(feed_ids))
    for condition in json_conditions(session, payload or {}):
        stmt = stmt.where(condition)
    stmt = (
        stmt.order_by(col(Message.created_at).desc(), col(Message.id).desc())
        .offset(page * limit)
        .limit(limit + 1)
    )
    rows = list((await session.exec(stmt)).all())
    return rows[:limit], len(rows) > limit


async def unseen_count(
    *,
    session: AsyncSession,
    environment_id: str,
    subscriber_id: str,
    seen: bool,
    limit: int,
    read: bool | None = None,
    feed_ids: list[str] | None = None,
) -> int:
    """In-app messages with ``seen == seen`` (and ``read``, feeds when given), counted up to ``limit``."""
    stmt = _inbox(environment_id, subscriber_id).where(Message.seen == seen)
    if read is not None:
        stmt = stmt.where(Message.read == read)
    if feed_ids is not None:
        stmt = stmt.where(col(Message.feed_id).in_(feed_ids))
    capped = stmt.with_only_columns(col(Message.id)).limit(limit).subquery()
    return int((await session.exec(select(func.count()).select_from(capped))).one())


#: Novu's ``markAs`` values → (condition selecting messages that would change, columns to set).
MARKS: dict[str, tuple[dict[str, bool], dict[str, bool], tuple[str, ...]]] = {
    "read": ({"read": False}, {"read": True, "seen": True}, ("last_read_date", "last_seen_date")),
    "unread": ({"read": True}, {"read": False, "seen": True}, ("last_read_date", "last_seen_date")),
    "seen": ({"seen": False}, {"seen": True}, ("last_seen_date",)),
    "unseen": ({"seen": True}, {"seen": False}, ("last_seen_date",)),
}


def first_seen(now: datetime) -> dict[str, Any]:
    """A message seen keeps the first time it was (the Inbox's ``firstSeenAt``), whichever API marks it."""
    return {"first_seen_date": func.coalesce(Message.first_seen_date, now)}


def mark_values(mark_as: str) -> dict[str, Any]:
    _, flags, dates = MARKS[mark_as]
    now = utcnow()
    first = first_seen(now) if flags.get("seen") else {}
    return {**flags, **dict.fromkeys(dates, now), **first, "updated_at": now}


def legacy_mark_values(*, seen: bool | None, read: bool | None) -> dict[str, Any]:
    """The legacy ``mark: {seen?, read?}``: the given flags and their dates."""
    now = utcnow()
    values: dict[str, Any] = {"updated_at": now}
    if seen is not None:
        values.update(seen=seen, last_seen_date=now, **(first_seen(now) if seen else {}))
    if read is not None:
        values.update(read=read, last_read_date=now)
    return values


async def mark_messages(
    *,
    session: AsyncSession,
    environment_id: str,
    subscriber_id: str,
    message_ids: list[str],
    values: dict[str, Any],
) -> list[Message]:
    """Set ``values`` on the subscriber's messages among ``message_ids``; returns them updated."""
    where = (
        col(Message.environment_id) == environment_id,
        col(Message.subscriber_id) == subscriber_id,
        col(Message.id).in_(message_ids),
        col(Message.deleted).is_(False),
    )
    await session.exec(update(Message).where(*where).values(**values))  # type: ignore[call-overload]
    rows = (await session.exec(select(Message).where(*where).execution_options(populate_existing=True))).all()
    order = {mid: i for i, mid in enumerate(message_ids)}
    return sorted(rows, key=lambda m: order.get(m.id, 0))


async def mark_all(
    *,
    session: AsyncSession,
    environment_id: str,
    subscriber_id: str,
    mark_as: str,
    feed_ids: list[str] | None = None,
) -> int:
    """Mark every in-app message whose state differs; returns how many changed."""
    differs, _, _ = MARKS[mark_as]
    stmt = update(Message).where(
        col(Message.environment_id) == environment_id,
        col(Message.subscriber_id) == subscriber_id,
        col(Message.channel) == "in_app",
        col(Message.deleted).is_(False),
        *[col(getattr(Message, k)) == v for k, v in differs.items()],
    )
    if feed_ids is not None:
        stmt = stmt.where(col(Message.feed_id).in_(feed_ids))
    result = await session.exec(stmt.values(**mark_values(mark_as)))  # type: ignore[call-overload]
    return int(result.rowcount or 0)


async def get_message(*, session: AsyncSession, environment_id: str, message_id: str) -> Message | None:
    stmt = select(Message).where(
        Message.environment_id == environment_id, Message.id == message_id, col(Message.deleted).is_(False)
    )
    return (await session.exec(stmt)).first()


async def set_action(
    *, session: AsyncSession, message: Message, button: str, status: str, payload: dict[str, Any] | None
) -> Message:
    """Record a CTA button's outcome: ``cta.action.status`` and ``cta.action.result {type, payload}``."""
    cta = dict(message.cta or {"type": "redirect", "data": {}})
    action = dict(cta.get("action") or {})
    action["status"] = status
    action["result"] = {"type": button, "payload": payload or {}}
    cta["action"] = action
    message.cta = cta
    message.updated_at = utcnow()
    session.add(message)
    await session.flush()
    return message


#: The name the v2 routes use.
_payload_conditions = json_conditions


async def _existing_ids(
    session: Any, model: type[Message] | type[Notification], where: dict[str, Any], subscriber_ids: list[str]
) -> dict[str, str]:
    """subscriber_id → id of the rows already stored under ``where`` (what a retried bulk write found):
    one keyed join where the database has it, else an ``IN`` list."""
    found = await select_keyed(
        session,
        model,
        where=where,
        key="subscriber_id",
        values=subscriber_ids,
        columns=["subscriber_id", "id"],
    )
    if found is None:
        stmt = select(model.subscriber_id, model.id).where(  # type: ignore[call-overload]
            *[getattr(model, k) == v for k, v in where.items()],
            col(model.subscriber_id).in_(subscriber_ids),
        )
        found = list((await session.exec(stmt)).all())
    return {sub: row_id for sub, row_id in found}


async def notification_ids(
    *, session: AsyncSession, environment_id: str, transaction_id: str, subscriber_ids: list[str]
) -> dict[str, str]:
    """subscriber id → id of its activity-feed row for the transaction."""
    if not subscriber_ids:
        return {}
    stmt = select(Notification.subscriber_id, Notification.id).where(
        Notification.environment_id == environment_id,
        Notification.transaction_id == transaction_id,
        col(Notification.subscriber_id).in_(subscriber_ids),
    )
    return {s: n for s, n in (await session.exec(stmt)).all()}


async def step_read_states(
    *,
    session: AsyncSession,
    environment_id: str,
    transaction_id: str,
    step_ids: list[str],
    subscriber_ids: list[str],
) -> dict[str, dict[str, dict[str, bool]]]:
    """subscriber id → step id → ``{read, seen}`` of the transaction's messages of those steps."""
    stmt = select(Message.subscriber_id, Message.step_id, Message.read, Message.seen).where(
        Message.environment_id == environment_id,
        Message.transaction_id == transaction_id,
        col(Message.step_id).in_(step_ids),
        col(Message.subscriber_id).in_(subscriber_ids),
    )
    states: dict[str, dict[str, dict[str, bool]]] = {}
    for sid, step_id, read, seen in (await session.exec(stmt)).all():
        states.setdefault(sid, {})[step_id] = {"read": bool(read), "seen": bool(seen)}
    return states


async def set_message_fields(*, session: AsyncSession, message_id: str, values: dict[str, Any]) -> None:
    """Update one message's columns (a sender settling its status, provider and error)."""
    await session.exec(update(Message).where(col(Message.id) == message_id).values(**values))  # type: ignore[call-overload]
