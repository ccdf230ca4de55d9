"""What delivery leaves behind: notifications, messages (the in-app feed), execution details, feeds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.models._types import created_field, id_field, json_field, ts_field


class Notification(SQLModel, table=True):
    """One row per (transaction, subscriber): Novu's activity-feed entry."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("environment_id", "transaction_id", "subscriber_id"),)
    id: str = id_field()
    environment_id: str = Field(foreign_key="environments.id", index=True)
    #: ``workflow_definitions.id``, the definition's row id (a Temporal ID is ``execution_id``).
    workflow_id: str | None = Field(default=None, index=True)
    subscriber_id: str = Field(index=True)
    transaction_id: str = Field(index=True)
    channels: list[str] = json_field(default_factory=list)
    payload: dict[str, Any] = json_field()
    to: Any = json_field(default_factory=lambda: None)
    tags: list[str] = json_field(default_factory=list)
    created_at: datetime = created_field()


class Message(SQLModel, table=True):
    """A message on one channel for one subscriber. ``(transaction, subscriber, step)`` is unique,
    which is what makes recording a message idempotent under activity retries."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint(
            "environment_id", "transaction_id", "subscriber_id", "step_id", name="uq_messages_delivery"
        ),
        Index("ix_messages_feed", "subscriber_id", "channel", "deleted", "created_at"),
    )
    id: str = id_field()
    environment_id: str = Field(foreign_key="environments.id", index=True)
    notification_id: str | None = None
    subscriber_id: str
    #: ``workflow_definitions.id``, the definition's row id (a Temporal ID is ``execution_id``).
    workflow_id: str | None = None
    template_identifier: str | None = None
    step_id: str
    transaction_id: str = Field(index=True)
    channel: str
    provider_id: str | None = None
    integration_id: str | None = None
    feed_id: str | None = None
    content: Any = json_field(default_factory=lambda: "")
    subject: str | None = None
    title: str | None = None
    cta: dict[str, Any] = json_field()
    actor: dict[str, Any] | None = json_field(default_factory=lambda: None)
    actor_subscriber_id: str | None = None
    avatar: str | None = None
    data: dict[str, Any] | None = json_field(default_factory=lambda: None)
    tags: list[str] = json_field(default_factory=list)
    payload: dict[str, Any] = json_field()
    overrides: dict[str, Any] = json_field()
    seen: bool = False
    read: bool = False
    archived: bool = False
    deleted: bool = False
    last_seen_date: datetime | None = ts_field()
    last_read_date: datetime | None = ts_field()
    #: Inbox state (issue 11): when the subscriber first saw / archived it, and until when it is snoozed.
    first_seen_date: datetime | None = ts_field()
    archived_at: datetime | None = ts_field()
    snoozed_until: datetime | None = ts_field()
    status: str = "sent"
    error_text: str | None = None
    provider_message_id: str | None = None
    email: str | None = None
    phone: str | None = None
    device_tokens: list[str] | None = json_field(default_factory=lambda: None)
    direct_webhook_url: str | None = None
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class MessageEvent(SQLModel, table=True):
    """The embedded (SQLite) hand-over of message state changes from any process to the API processes
    holding the sockets; PostgreSQL uses ``LISTEN/NOTIFY`` instead (see ``store/message_events.py``)."""

    __tablename__ = "message_events"
    id: int | None = Field(default=None, primary_key=True)
    environment_id: str
    subscriber_id: str
    event: str
    message_ids: list[str] | None = json_field(default_factory=lambda: None)
    created_at: datetime = created_field()


class ExecutionDetail(SQLModel, table=True):
    """Why a step did what it did, in Novu's ``detail`` vocabulary."""

    __tablename__ = "execution_details"
    __table_args__ = (Index("ix_execution_details_tx", "environment_id", "transaction_id"),)
    id: str = id_field()
    environment_id: str = Field(foreign_key="environments.id")
    notification_id: str | None = None
    #: ``workflow_definitions.id``, the definition's row id (a Temporal ID is ``execution_id``).
    workflow_id: str | None = None
    subscriber_id: str | None = None
    message_id: str | None = None
    transaction_id: str
    step_id: str | None = None
    channel: str | None = None
    provider_id: str | None = None
    detail: str
    source: str = "Internal"
    status: str = "Success"
    is_test: bool = False
    is_retry: bool = False
    raw: Any = json_field(default_factory=lambda: None)
    created_at: datetime = created_field()


class Feed(SQLModel, table=True):
    __tablename__ = "feeds"
    __table_args__ = (UniqueConstraint("environment_id", "identifier"),)
    id: str = id_field()
    environment_id: str = Field(foreign_key="environments.id", index=True)
    name: str
    identifier: str
    deleted: bool = False
    created_at: datetime = created_field()
