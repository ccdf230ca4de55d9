"""Subscriber data functions: Novu's upsert semantics, lookups, and the bulk upsert the trigger path uses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import Database, utcnow
from store.models import Subscriber

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
        row = Subscriber(environment_id=environment_id, subscriber_id=subscriber_id, **changes)
        session.add(row)
        await session.flush()
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


async def load_subscribers(*, session: AsyncSession, ids: list[str]) -> dict[str, Subscriber]:
    """Rows by internal id, in one query."""
    if not ids:
        return {}
    rows = (await session.exec(select(Subscriber).where(col(Subscriber.id).in_(ids)))).all()
    return {s.id: s for s in rows}
