"""Subscriber data functions: Novu's upsert semantics, lookups, and the bulk upsert the trigger path uses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import Database, insert_ignore, utcnow
from store.models import Integration, Subscriber, SubscriberPreference, SubscriberRecord, TopicSubscriber

#: Novu's camelCase subscriber fields → column names.
FIELD_COLUMNS: dict[str, str] = {
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "phone": "phone",
    "avatar": "avatar",
    "locale": "locale",
    "timezone": "timezone",
    "data": "data",
}


def changes_from(fields: dict[str, Any]) -> dict[str, Any]:
    """Column updates for the non-null Novu fields given (Novu never overwrites with null on upsert)."""
    return {FIELD_COLUMNS[k]: v for k, v in fields.items() if k in FIELD_COLUMNS and v is not None}


async def get_subscriber(
    *, session: AsyncSession, environment_id: str, subscriber_id: str, include_deleted: bool = False
) -> Subscriber | None:
    stmt = select(Subscriber).where(
        Subscriber.environment_id == environment_id, Subscriber.subscriber_id == subscriber_id
    )
    if not include_deleted:
        stmt = stmt.where(col(Subscriber.deleted).is_(False))
    return (await session.exec(stmt)).first()


async def upsert_subscriber(
    *, session: AsyncSession, environment_id: str, subscriber_id: str, fields: dict[str, Any]
) -> tuple[Subscriber, bool]:
    """Create the subscriber, or update the non-null fields of an existing one. Returns (row, created)."""
    row = await get_subscriber(
        session=session, environment_id=environment_id, subscriber_id=subscriber_id, include_deleted=True
    )
    changes = changes_from(fields)
    if row is None:
        # INSERT … ON CONFLICT DO NOTHING: two concurrent creates of one id end as create + update.
        new = Subscriber(environment_id=environment_id, subscriber_id=subscriber_id, **changes)
        inserted = await insert_ignore(
            session, Subscriber, [new.model_dump()], conflict=["environment_id", "subscriber_id"]
        )
        row = await get_subscriber(
            session=session, environment_id=environment_id, subscriber_id=subscriber_id, include_deleted=True
        )
        assert row is not None
        if inserted:
            return row, True
    created = row.deleted
    if row.deleted:
        # Re-creating a deleted subscriber starts it afresh, as Novu's new document would.
        for column in FIELD_COLUMNS.values():
            setattr(row, column, None)
        row.channels = []
        row.deleted = False
        row.created_at = utcnow()
    for column, value in changes.items():
        setattr(row, column, value)
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    return row, created


async def upsert_recipients(
    *, db: Database, session: AsyncSession, environment_id: str, recipients: Iterable[dict[str, Any]]
) -> dict[str, Subscriber]:
    """Make sure every recipient exists; returns external id → row. One SELECT and a few bulk writes.

    Each recipient is ``{"subscriberId": …, <optional Novu fields>}``; non-null fields update the row.
    """
    wanted: dict[str, dict[str, Any]] = {}
    for r in recipients:
        wanted.setdefault(str(r["subscriberId"]), {}).update(changes_from(r))
    if not wanted:
        return {}
    ids = list(wanted)
    existing = {
        s.subscriber_id: s
        for s in (
            await session.exec(
                select(Subscriber).where(
                    Subscriber.environment_id == environment_id, col(Subscriber.subscriber_id).in_(ids)
                )
            )
        ).all()
    }
    missing = [i for i in ids if i not in existing]
    if missing:
        now = utcnow()
        rows = [
            Subscriber(
                environment_id=environment_id, subscriber_id=i, created_at=now, updated_at=now, **wanted[i]
            ).model_dump()
            for i in missing
        ]
        await db.insert_ignore(session, Subscriber, rows, conflict=["environment_id", "subscriber_id"])
    for ext_id, row in existing.items():
        if row.deleted or wanted[ext_id]:
            if row.deleted:
                row.deleted = False
                for column in FIELD_COLUMNS.values():
                    setattr(row, column, None)
                row.channels = []
            for column, value in wanted[ext_id].items():
                setattr(row, column, value)
            row.updated_at = utcnow()
            session.add(row)
    await session.flush()
    if missing:
        for s in (
            await session.exec(
                select(Subscriber).where(
                    Subscriber.environment_id == environment_id, col(Subscriber.subscriber_id).in_(missing)
                )
            )
        ).all():
            existing[s.subscriber_id] = s
    return existing


#: The columns :func:`load_subscribers` selects, in :class:`SubscriberRecord`'s field order.
RECORD_FIELDS = [f.name for f in fields(SubscriberRecord)]


async def load_subscribers(*, session: AsyncSession, ids: list[str]) -> dict[str, SubscriberRecord]:
    """Rows by internal id, in one query, as plain records (see :class:`SubscriberRecord`)."""
    if not ids:
        return {}
    table: Any = Subscriber.__table__  # type: ignore[attr-defined]
    stmt = sa_select(*(table.c[name] for name in RECORD_FIELDS)).where(table.c.id.in_(ids))
    rows = (await session.exec(stmt)).all()  # type: ignore[call-overload]
    return {row[0]: SubscriberRecord(*row) for row in rows}  # columns in the record's field order


async def subscriber_by_id(*, session: AsyncSession, id: str) -> Subscriber | None:
    """A row by internal id (deleted or not)."""
    return await session.get(Subscriber, id)


async def list_subscribers(
    *, session: AsyncSession, environment_id: str, page: int, limit: int
) -> list[Subscriber]:
    """One page of the environment's live subscribers, oldest first (stable across pages)."""
    stmt = (
        select(Subscriber)
        .where(Subscriber.environment_id == environment_id, col(Subscriber.deleted).is_(False))
        .order_by(col(Subscriber.created_at), col(Subscriber.id))
        .offset(page * limit)
        .limit(limit)
    )
    return list((await session.exec(stmt)).all())


async def update_subscriber(*, session: AsyncSession, row: Subscriber, fields: dict[str, Any]) -> Subscriber:
    """Novu's PUT rules: ``email`` is set whenever given (``""`` unsets it); the rest only when not null.

    ``data`` is replaced wholesale. ``fields`` holds only the keys the caller sent.
    """
    changes = changes_from({k: v for k, v in fields.items() if k != "email"})
    if "email" in fields:
        changes["email"] = fields["email"] or None
    dirty = {c: v for c, v in changes.items() if getattr(row, c) != v}
    if not dirty:
        return row
    for column, value in dirty.items():
        setattr(row, column, value)
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    return row


async def delete_subscriber(*, session: AsyncSession, row: Subscriber) -> None:
    """Soft delete: invisible to every lookup afterwards, out of every topic, preferences forgotten
    (a re-created subscriber starts afresh, as Novu's new document would)."""
    for table in (TopicSubscriber, SubscriberPreference):
        await session.exec(delete(table).where(col(table.subscriber_id) == row.id))  # type: ignore[call-overload]
    row.deleted = True
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()


async def bulk_upsert(
    *, db: Database, session: AsyncSession, environment_id: str, subscribers: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """Upsert many subscribers (Novu's bulk create); returns (created ids, updated ids) in request order."""
    before = {
        s.subscriber_id: s.deleted
        for s in (
            await session.exec(
                select(Subscriber).where(
                    Subscriber.environment_id == environment_id,
                    col(Subscriber.subscriber_id).in_([str(s["subscriberId"]) for s in subscribers]),
                )
            )
        ).all()
    }
    await upsert_recipients(db=db, session=session, environment_id=environment_id, recipients=subscribers)
    created: list[str] = []
    updated: list[str] = []
    for spec in subscribers:
        sid = str(spec["subscriberId"])
        if sid in created or sid in updated:
            continue
        (updated if before.get(sid) is False else created).append(sid)
    return created, updated


async def set_online(*, session: AsyncSession, row: Subscriber, online: bool) -> Subscriber:
    """Going offline stamps ``lastOnlineAt``."""
    row.is_online = online
    if not online:
        row.last_online_at = utcnow()
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    return row


async def active_integration(
    *, session: AsyncSession, environment_id: str, provider_id: str, identifier: str | None = None
) -> Integration | None:
    """The newest active integration of a provider (and identifier, when given) in the environment."""
    stmt = select(Integration).where(
        Integration.environment_id == environment_id,
        Integration.provider_id == provider_id,
        col(Integration.active).is_(True),
        col(Integration.deleted).is_(False),
    )
    if identifier:
        stmt = stmt.where(Integration.identifier == identifier)
    return (await session.exec(stmt.order_by(col(Integration.created_at).desc()))).first()


async def patch_subscriber(*, session: AsyncSession, row: Subscriber, fields: dict[str, Any]) -> Subscriber:
    """Novu's v2 PATCH: every key sent is written, ``null`` included (it unsets); ``data`` is replaced."""
    changes = {FIELD_COLUMNS[k]: v for k, v in fields.items() if k in FIELD_COLUMNS}
    dirty = {c: v for c, v in changes.items() if getattr(row, c) != v}
    if not dirty:
        return row
    for column, value in dirty.items():
        setattr(row, column, value)
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    return row


async def subscriber_timezones(*, session: AsyncSession, ids: list[str]) -> dict[str, str | None]:
    """Internal subscriber id → IANA timezone (``None`` when unset), for a cohort in one query."""
    found = await session.exec(select(Subscriber.id, Subscriber.timezone).where(col(Subscriber.id).in_(ids)))
    return dict(found.all())


async def subscriber_zones(*, session: AsyncSession, ids: list[str]) -> dict[str, tuple[str | None, str]]:
    """Internal subscriber id → (IANA timezone or ``None``, external subscriberId), for a cohort."""
    found = await session.exec(
        select(Subscriber.id, Subscriber.timezone, Subscriber.subscriber_id).where(
            col(Subscriber.id).in_(ids)
        )
    )
    return {sid: (tz, ext) for sid, tz, ext in found.all()}
