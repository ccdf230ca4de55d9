"""Messages (the in-app feed), notifications and execution details."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import Database
from store.models import ExecutionDetail, Message, Notification

DELIVERY_KEY = ["environment_id", "transaction_id", "subscriber_id", "step_id"]


async def record_messages(
    *, db: Database, session: AsyncSession, rows: list[dict[str, Any]]
) -> dict[str, str]:
    """Insert message rows once per (transaction, subscriber, step); returns subscriber → message id.

    A retried activity finds the rows it wrote before and gets their ids back instead of duplicates.
    """
    if not rows:
        return {}
    table_rows = [Message(**r).model_dump() for r in rows]
    await db.insert_ignore(session, Message, table_rows, conflict=DELIVERY_KEY)
    first = rows[0]
    stmt = select(Message.subscriber_id, Message.id).where(
        Message.environment_id == first["environment_id"],
        Message.transaction_id == first["transaction_id"],
        Message.step_id == first["step_id"],
        col(Message.subscriber_id).in_([r["subscriber_id"] for r in rows]),
    )
    return {sub: mid for sub, mid in (await session.exec(stmt)).all()}


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
    table_rows = [Notification(**r).model_dump() for r in rows]
    await db.insert_ignore(
        session,
        Notification,
        table_rows,
        conflict=["environment_id", "transaction_id", "subscriber_id"],
    )
    first = rows[0]
    stmt = select(Notification.subscriber_id, Notification.id).where(
        Notification.environment_id == first["environment_id"],
        Notification.transaction_id == first["transaction_id"],
        col(Notification.subscriber_id).in_([r["subscriber_id"] for r in rows]),
    )
    return {sub: nid for sub, nid in (await session.exec(stmt)).all()}


async def add_details(*, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Append execution details (Novu's ``detail`` strings with status and source)."""
    for r in rows:
        session.add(ExecutionDetail(**r))
    await session.flush()


async def details_for(
    *, session: AsyncSession, environment_id: str, transaction_id: str, subscriber_id: str | None = None
) -> list[ExecutionDetail]:
    stmt = select(ExecutionDetail).where(
        ExecutionDetail.environment_id == environment_id, ExecutionDetail.transaction_id == transaction_id
    )
    if subscriber_id is not None:
        stmt = stmt.where(ExecutionDetail.subscriber_id == subscriber_id)
    return list((await session.exec(stmt.order_by(col(ExecutionDetail.created_at)))).all())


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
) -> tuple[list[Message], bool]:
    """One page of a subscriber's in-app feed, newest first, and whether more follow."""
    stmt = select(Message).where(
        Message.environment_id == environment_id,
        Message.subscriber_id == subscriber_id,
        Message.channel == "in_app",
        col(Message.deleted).is_(False),
    )
    if seen is not None:
        stmt = stmt.where(Message.seen == seen)
    if read is not None:
        stmt = stmt.where(Message.read == read)
    if feed_ids is not None:
        stmt = stmt.where(col(Message.feed_id).in_(feed_ids))
    stmt = (
        stmt.order_by(col(Message.created_at).desc(), col(Message.id).desc())
        .offset(page * limit)
        .limit(limit + 1)
    )
    rows = list((await session.exec(stmt)).all())
    return rows[:limit], len(rows) > limit


async def count_messages(*, session: AsyncSession, environment_id: str, transaction_id: str) -> int:
    stmt = (
        select(func.count())
        .select_from(Message)
        .where(Message.environment_id == environment_id, Message.transaction_id == transaction_id)
    )
    return int((await session.exec(stmt)).one())
