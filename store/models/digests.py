"""Digest memberships, cancelled transactions and throttle hits: the rows that make digests, cancel and
throttle exact under concurrency (the database arbitrates who fires, who is cancelled, who passes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.models._types import created_field, id_field, json_field


class DigestEvent(SQLModel, table=True):
    """One transaction's event in one subscriber's digest (per digest step).

    ``status``: ``pending`` (in an open window) → ``fired`` (sent with its window) | ``cancelled``;
    ``skipped`` for a backoff event that went out at once. ``run`` keeps the context and earlier step
    results, so whichever event opens the window can start the steps after the digest.
    """

    __tablename__ = "digest_events"
    __table_args__ = (
        UniqueConstraint(
            "environment_id", "transaction_id", "subscriber_id", "step_id", name="uq_digest_events_member"
        ),
        Index("ix_digest_events_accumulator", "accumulator_id", "status"),
    )
    id: str = id_field()
    environment_id: str
    transaction_id: str
    subscriber_id: str
    step_id: str
    accumulator_id: str
    status: str = "pending"
    fired_by: str | None = None
    payload: dict[str, Any] = json_field()
    run: dict[str, Any] = json_field()
    created_at: datetime = created_field()


class CancelledTransaction(SQLModel, table=True):
    """Written by ``DELETE /v1/events/trigger/{transactionId}`` before anything else, so an event that
    is joining a digest at that moment sees it (see ``store.digests``)."""

    __tablename__ = "cancelled_transactions"
    environment_id: str = Field(primary_key=True)
    transaction_id: str = Field(primary_key=True)
    created_at: datetime = created_field()


class ThrottleHit(SQLModel, table=True):
    """One execution that passed a throttle step (the ones over the limit leave no row)."""

    __tablename__ = "throttle_hits"
    __table_args__ = (
        UniqueConstraint(
            "environment_id", "transaction_id", "subscriber_id", "step_id", name="uq_throttle_hits"
        ),
        Index("ix_throttle_hits_key", "environment_id", "throttle_key", "created_at"),
    )
    id: str = id_field()
    environment_id: str
    transaction_id: str
    subscriber_id: str
    step_id: str
    throttle_key: str
    created_at: datetime = created_field()
