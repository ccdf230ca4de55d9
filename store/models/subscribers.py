"""Subscribers, their preferences, topics and topic memberships."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.models._types import created_field, id_field, json_field, ts_field


class Subscriber(SQLModel, table=True):
    __tablename__ = "subscribers"
    __table_args__ = (
        UniqueConstraint("environment_id", "subscriber_id"),
        Index("ix_subscribers_env_keyset", "environment_id", "id"),  # broadcast pages by id
    )
    id: str = id_field()
    environment_id: str = Field(foreign_key="environments.id", index=True)
    subscriber_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    avatar: str | None = None
    locale: str | None = None
    timezone: str | None = None
    data: dict[str, Any] | None = json_field(default_factory=lambda: None)
    channels: list[dict[str, Any]] = json_field(default_factory=list)
    is_online: bool | None = None
    last_online_at: datetime | None = ts_field()
    deleted: bool = False
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


@dataclass(frozen=True, slots=True)
class SubscriberRecord:
    """A ``subscribers`` row as plain values, for a fan-out cohort's bulk read (``load_subscribers``).

    Loading 500 ORM instances (identity map, instance state, attribute instrumentation) cost about a
    third more of the worker's CPU than these; delivery only reads them. Same fields as :class:`Subscriber`.
    """

    id: str
    environment_id: str
    subscriber_id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    avatar: str | None
    locale: str | None
    timezone: str | None
    data: dict[str, Any] | None
    channels: list[dict[str, Any]]
    is_online: bool | None
    last_online_at: datetime | None
    deleted: bool
    created_at: datetime
    updated_at: datetime


class SubscriberPreference(SQLModel, table=True):
    """A subscriber's preference: global (``workflow_id`` null) or for one workflow."""

    __tablename__ = "subscriber_preferences"
    __table_args__ = (UniqueConstraint("subscriber_id", "level", "workflow_id"),)
    id: str = id_field()
    environment_id: str = Field(foreign_key="environments.id", index=True)
    subscriber_id: str = Field(foreign_key="subscribers.id", index=True)
    level: str = "template"  # "global" | "template"
    #: ``workflow_definitions.id``, the definition's row id (a Temporal ID is ``execution_id``).
    workflow_id: str | None = Field(default=None, index=True)
    enabled: bool = True
    channels: dict[str, bool] | None = json_field(default_factory=lambda: None)
    #: Global row only: the subscriber's delivery schedule (``{isEnabled, weeklySchedule}``, as @novu/js).
    schedule: dict[str, Any] | None = json_field(default_factory=lambda: None)
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class Topic(SQLModel, table=True):
    __tablename__ = "topics"
    __table_args__ = (UniqueConstraint("environment_id", "key"),)
    id: str = id_field()
    environment_id: str = Field(foreign_key="environments.id", index=True)
    key: str
    name: str
    created_at: datetime = created_field()
    updated_at: datetime | None = ts_field()


class TopicSubscriber(SQLModel, table=True):
    __tablename__ = "topic_subscribers"
    __table_args__ = (
        UniqueConstraint("topic_id", "subscriber_id"),
        Index("ix_topic_subscribers_topic_sub", "topic_id", "subscriber_id"),
        Index("ix_topic_subscribers_topic_identifier", "topic_id", "identifier", unique=True),
    )
    id: str = id_field()
    environment_id: str = Field(foreign_key="environments.id", index=True)
    topic_id: str = Field(foreign_key="topics.id")
    topic_key: str
    subscriber_id: str = Field(foreign_key="subscribers.id", index=True)
    external_subscriber_id: str
    created_at: datetime = created_field()
    #: Novu v2's subscription identifier; ``None`` for v1 memberships (the default one is derived).
    identifier: str | None = None
    name: str | None = None
    #: v2 subscription preferences as given: ``[{workflowId | filter, enabled, condition}]``.
    preferences: list[dict[str, Any]] | None = json_field(default_factory=lambda: None)
    updated_at: datetime | None = ts_field()
