"""Throttle hits: how many executions passed a throttle step per key within a window."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import Database
from store.models import ThrottleHit

HIT_KEY = ["environment_id", "transaction_id", "subscriber_id", "step_id"]


async def count_hits(
    *, session: AsyncSession, environment_id: str, keys: list[str], since: datetime, transaction_id: str
) -> dict[str, int]:
    """Hits per key at or after ``since``, other than this transaction's own (a retry's)."""
    if not keys:
        return {}
    stmt = (
        select(ThrottleHit.throttle_key, func.count())
        .where(
            ThrottleHit.environment_id == environment_id,
            col(ThrottleHit.throttle_key).in_(keys),
            col(ThrottleHit.created_at) >= since,
            ThrottleHit.transaction_id != transaction_id,
        )
        .group_by(col(ThrottleHit.throttle_key))
    )
    return {key: int(n) for key, n in (await session.exec(stmt)).all()}


async def own_hits(
    *,
    session: AsyncSession,
    environment_id: str,
    transaction_id: str,
    step_id: str,
    subscriber_ids: list[str],
) -> set[str]:
    """Subscribers this transaction already let through at this step (a retried activity)."""
    if not subscriber_ids:
        return set()
    stmt = select(ThrottleHit.subscriber_id).where(
        ThrottleHit.environment_id == environment_id,
        ThrottleHit.transaction_id == transaction_id,
        ThrottleHit.step_id == step_id,
        col(ThrottleHit.subscriber_id).in_(subscriber_ids),
    )
    return set((await session.exec(stmt)).all())


async def add_hits(*, db: Database, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await db.insert_ignore(
        session, ThrottleHit, [ThrottleHit(**r).model_dump() for r in rows], conflict=HIT_KEY
    )


async def remove_hits(
    *,
    session: AsyncSession,
    environment_id: str,
    transaction_id: str,
    step_id: str,
    subscriber_ids: list[str],
) -> None:
    """Take back the hits of executions that were over the limit (only passing executions count)."""
    if not subscriber_ids:
        return
    await session.exec(  # type: ignore[call-overload]
        delete(ThrottleHit).where(
            col(ThrottleHit.environment_id) == environment_id,
            col(ThrottleHit.transaction_id) == transaction_id,
            col(ThrottleHit.step_id) == step_id,
            col(ThrottleHit.subscriber_id).in_(subscriber_ids),
        )
    )
