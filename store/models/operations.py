"""Tables of the operator's platform: outbound webhook endpoints and their deliveries (the outbox),
HTTP ``Idempotency-Key`` records and rate-limit windows. All live in the app DB so several API
processes agree on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from store.models._types import UTCDateTime, created_field, id_field, json_field, ts_field


class WebhookEndpoint(SQLModel, table=True):
    """Where an environment wants its events; the signing secret is encrypted at rest."""

    __tablename__ = "webhook_endpoints"
    id: str = id_field()
    environment_id: str = Field(index=True)
    url: str
    description: str | None = None
    #: Event types to send; empty means every event.
    events: list[str] = json_field(default_factory=list)
    active: bool = True
    secret_encrypted: str
    #: Why delivery stopped on its own (e.g. the receiver answered 410 Gone).
    disabled_reason: str | None = None
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint: written in the transaction of the change (the outbox), then
    delivered by a Temporal workflow. ``id`` is the stable ``webhook-id`` across retries.

    ``status``: ``pending`` → ``succeeded`` | ``failed`` (gave up, or 410) | ``dropped`` (endpoint
    inactive or deleted before delivery).
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at"),
        Index("ix_webhook_deliveries_outbox", "status", "dispatched_at"),
    )
    id: str = id_field()
    environment_id: str = Field(index=True)
    endpoint_id: str
    event_type: str
    body: dict[str, Any] = json_field()
    status: str = "pending"
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = ts_field()
    dispatched_at: datetime | None = ts_field()
    delivered_at: datetime | None = ts_field()
    created_at: datetime = created_field()


class IdempotencyRecord(SQLModel, table=True):
    """One ``Idempotency-Key`` of one environment: in progress, then the cached response."""

    __tablename__ = "idempotency_keys"
    environment_id: str = Field(primary_key=True)
    key: str = Field(primary_key=True, max_length=255)
    body_hash: str
    #: ``in_progress`` until the response is stored, then ``done``.
    state: str = "in_progress"
    status_code: int | None = None
    headers: dict[str, Any] = json_field()
    body: str | None = None
    locked_until: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    created_at: datetime = created_field()


class RateLimitWindow(SQLModel, table=True):
    """Requests (weighted by cost) one environment spent in one category during one fixed window."""

    __tablename__ = "rate_limit_windows"
    environment_id: str = Field(primary_key=True)
    category: str = Field(primary_key=True)
    window: int = Field(primary_key=True)
    used: int = 0


class ConfigVersion(SQLModel, table=True):
    """A counter per environment, bumped by database triggers (``store/config_versions.py``) in the same
    transaction as every write of what the trigger path reads: definitions, overrides, tenants, API keys."""

    __tablename__ = "config_versions"
    environment_id: str = Field(primary_key=True)
    version: int = 0
