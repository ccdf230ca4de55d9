"""Digest memberships and cancelled transactions: the database decides, under concurrency, which events a
window sends and which a cancel removed (one UPDATE wins per row)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import text, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import Database
from store.models import CancelledTransaction, DigestEvent


def accumulator_id(
    *, environment_id: str, definition_id: str, step_id: str, subscriber_id: str, key_value: Any
) -> str:
    """The Temporal ID of a digest accumulator (``definition_id`` is the workflow definition's row id).
    The key value is hashed: it may be long or any JSON; events without the key (``None``) form their own
    group."""
    key = hashlib.sha256(json.dumps(key_value, sort_keys=True, default=str).encode()).hexdigest()[:20]
    return f"digest:{environment_id}:{definition_id}:{step_id}:{subscriber_id}:{key}"


def subscriber_key(subscriber_id: str) -> str:
    """The subscriber's part of an accumulator ID, from the external subscriberId: the API knows it
    without reading the database, so both ways into a digest (a trigger's execution, the front door)
    reach the same accumulator. Hashed: a subscriberId is tenant text of any length."""
    return "s" + hashlib.sha256(subscriber_id.encode()).hexdigest()[:20]


async def lock_keys(*, db: Database, session: AsyncSession, keys: list[str]) -> None:
    """Serialize concurrent deciders on the same keys until commit (PostgreSQL advisory locks, taken in
    sorted order so two cohorts never deadlock). SQLite needs none: its writers are serialized already."""
    if db.is_sqlite:
        return
    for key in sorted(set(keys)):
        await session.exec(text("select pg_advisory_xact_lock(hashtextextended(:k, 0))").bindparams(k=key))  # type: ignore[call-overload]


async def add_events(*, db: Database, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Record memberships once per (transaction, subscriber, step): a retried join inserts nothing new."""
    await db.insert_ignore(
        session,
        DigestEvent,
        [DigestEvent(**r).model_dump() for r in rows],
        conflict=["environment_id", "transaction_id", "subscriber_id", "step_id"],
    )


async def events_of(
    *,
    session: AsyncSession,
    environment_id: str,
    transaction_id: str,
    step_id: str,
    subscriber_ids: list[str],
) -> dict[str, DigestEvent]:
    stmt = select(DigestEvent).where(
        DigestEvent.environment_id == environment_id,
        DigestEvent.transaction_id == transaction_id,
        DigestEvent.step_id == step_id,
        col(DigestEvent.subscriber_id).in_(subscriber_ids),
    )
    return {row.subscriber_id: row for row in (await session.exec(stmt)).all()}


async def recently_active(
    *, session: AsyncSession, accumulator_ids: list[str], since: datetime, transaction_id: str
) -> set[str]:
    """Accumulators that saw an event of another transaction at or after ``since`` (backoff look-back)."""
    if not accumulator_ids:
        return set()
    stmt = select(DigestEvent.accumulator_id).where(
        col(DigestEvent.accumulator_id).in_(accumulator_ids),
        DigestEvent.transaction_id != transaction_id,
        col(DigestEvent.created_at) >= since,
    )
    return set((await session.exec(stmt)).all())


async def set_status(
    *, session: AsyncSession, ids: list[str], status: str, only_from: str | None = None
) -> None:
    if not ids:
        return
    stmt = update(DigestEvent).where(col(DigestEvent.id).in_(ids)).values(status=status)
    if only_from is not None:
        stmt = stmt.where(col(DigestEvent.status) == only_from)
    await session.exec(stmt)  # type: ignore[call-overload]


async def members(
    *,
    session: AsyncSession,
    environment_id: str,
    step_id: str,
    subscriber_id: str,
    transaction_ids: list[str],
) -> dict[str, DigestEvent]:
    """One subscriber's memberships of a digest step, by transactionId."""
    stmt = select(DigestEvent).where(
        DigestEvent.environment_id == environment_id,
        DigestEvent.step_id == step_id,
        DigestEvent.subscriber_id == subscriber_id,
        col(DigestEvent.transaction_id).in_(transaction_ids),
    )
    return {row.transaction_id: row for row in (await session.exec(stmt)).all()}


async def cancelled_among(
    *, session: AsyncSession, environment_id: str, transaction_ids: list[str]
) -> set[str]:
    stmt = select(CancelledTransaction.transaction_id).where(
        CancelledTransaction.environment_id == environment_id,
        col(CancelledTransaction.transaction_id).in_(transaction_ids),
    )
    return set((await session.exec(stmt)).all())


async def is_cancelled(*, session: AsyncSession, environment_id: str, transaction_id: str) -> bool:
    row = await session.get(CancelledTransaction, (environment_id, transaction_id))
    return row is not None


async def claim_window(
    *, session: AsyncSession, accumulator_id: str, transaction_ids: list[str], run_key: str
) -> tuple[list[DigestEvent], bool]:
    """Mark the window's still-pending events fired by ``run_key``; return every event that key fired
    (so a retried fire finds the same events), in the accumulator's arrival order, and whether this
    call claimed them (False for a retry)."""
    claimed = 0
    if transaction_ids:
        result = await session.exec(  # type: ignore[call-overload]
            update(DigestEvent)
            .where(
                col(DigestEvent.accumulator_id) == accumulator_id,
                col(DigestEvent.transaction_id).in_(transaction_ids),
                col(DigestEvent.status) == "pending",
            )
            .values(status="fired", fired_by=run_key)
        )
        claimed = int(result.rowcount or 0)
    stmt = select(DigestEvent).where(
        DigestEvent.accumulator_id == accumulator_id, DigestEvent.fired_by == run_key
    )
    rows = list((await session.exec(stmt)).all())
    order = {tx: i for i, tx in enumerate(transaction_ids)}
    return sorted(rows, key=lambda r: order.get(r.transaction_id, len(order))), claimed > 0


async def cancel_transaction(*, db: Database, environment_id: str, transaction_id: str) -> int:
    """Mark the transaction cancelled, then take its pending events out of open digests.

    Two commits in this order pair with the join's (insert membership, then read the mark): whichever
    runs second sees the other, so an event can never slip into a digest after its cancel.
    Returns how many pending digest events were cancelled.
    """
    async with db.session() as session:
        await db.insert_ignore(
            session,
            CancelledTransaction,
            [CancelledTransaction(environment_id=environment_id, transaction_id=transaction_id).model_dump()],
            conflict=["environment_id", "transaction_id"],
        )
    async with db.session() as session:
        result = await session.exec(  # type: ignore[call-overload]
            update(DigestEvent)
            .where(
                col(DigestEvent.environment_id) == environment_id,
                col(DigestEvent.transaction_id) == transaction_id,
                col(DigestEvent.status) == "pending",
            )
            .values(status="cancelled")
        )
        return int(result.rowcount or 0)
