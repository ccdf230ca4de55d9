"""``Idempotency-Key`` records in the app DB, so every API process sees the same keys.

A key is claimed with one insert (the primary key arbitrates between processes); a claim whose
holder died is taken over once its lock expires, and an expired record is reused as if new.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import insert_ignore, utcnow
from store.models import IdempotencyRecord

#: One claim in this many also deletes expired records (cheap, and keeps the table small).
SWEEP_ONE_IN = 100


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a key: ``claimed``, ``in_progress``, ``mismatch`` or ``replay``."""

    outcome: str
    record: IdempotencyRecord | None = None


async def claim_key(
    *,
    session: AsyncSession,
    environment_id: str,
    key: str,
    body_hash: str,
    ttl: timedelta,
    lock: timedelta,
) -> Claim:
    now = utcnow()
    fresh = {
        "environment_id": environment_id,
        "key": key,
        "body_hash": body_hash,
        "state": "in_progress",
        "headers": {},
        "locked_until": now + lock,
        "expires_at": now + ttl,
        "created_at": now,
    }
    if random.randrange(SWEEP_ONE_IN) == 0:
        await session.exec(delete(IdempotencyRecord).where(col(IdempotencyRecord.expires_at) < now))  # type: ignore[call-overload]
    if await insert_ignore(session, IdempotencyRecord, [fresh], conflict=["environment_id", "key"]):
        return Claim("claimed")
    where = (
        col(IdempotencyRecord.environment_id) == environment_id,
        col(IdempotencyRecord.key) == key,
    )
    row = (await session.exec(select(IdempotencyRecord).where(*where))).first()
    if row is None or row.expires_at <= now:
        # Gone since the insert, or expired: take it over as new (only one process wins the update),
        # forgetting the old response so nothing of it outlives its lifetime.
        renewed = {k: v for k, v in fresh.items() if k not in ("environment_id", "key")}
        taken = await session.exec(  # type: ignore[call-overload]
            update(IdempotencyRecord)
            .where(*where, col(IdempotencyRecord.expires_at) <= now)
            .values(**renewed, status_code=None, body=None)
        )
        return Claim("claimed") if taken.rowcount else Claim("in_progress")
    if row.state == "in_progress":
        if row.locked_until > now:
            return Claim("in_progress", row)
        taken = await session.exec(  # type: ignore[call-overload]
            update(IdempotencyRecord)
            .where(
                *where,
                col(IdempotencyRecord.state) == "in_progress",
                col(IdempotencyRecord.locked_until) <= now,
            )
            .values(body_hash=body_hash, locked_until=now + lock)
        )
        return Claim("claimed") if taken.rowcount else Claim("in_progress", row)
    if row.body_hash != body_hash:
        return Claim("mismatch", row)
    return Claim("replay", row)


async def store_response(
    *,
    session: AsyncSession,
    environment_id: str,
    key: str,
    status_code: int,
    headers: dict[str, Any],
    body: str,
) -> None:
    await session.exec(  # type: ignore[call-overload]
        update(IdempotencyRecord)
        .where(col(IdempotencyRecord.environment_id) == environment_id, col(IdempotencyRecord.key) == key)
        .values(state="done", status_code=status_code, headers=headers, body=body)
    )


async def release_key(*, session: AsyncSession, environment_id: str, key: str) -> None:
    """Forget an unfinished claim (the request failed on our side), so a retry runs again."""
    await session.exec(  # type: ignore[call-overload]
        delete(IdempotencyRecord).where(
            col(IdempotencyRecord.environment_id) == environment_id,
            col(IdempotencyRecord.key) == key,
            col(IdempotencyRecord.state) == "in_progress",
        )
    )
