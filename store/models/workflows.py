"""Notification workflow definitions (Novu's "notification templates"), groups and tenant overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from store.models._types import created_field, id_field, json_field, ts_field


class NotificationGroup(SQLModel, table=True):
    __tablename__ = "notification_groups"
    id: str = id_field()
    environment_id: str = Field(foreign_key="environments.id", index=True)
    name: str
    parent_id: str | None = None
    created_at: datetime = created_field()


class WorkflowDefinition(SQLModel, table=True):
    """A notification workflow: defined in code (``origin='code'``) or over REST (``origin='rest'``).

    ``steps`` holds Novu's step JSON for REST workflows and the discovered step outline for code ones.
    """

    __tablename__ = "workflow_definitions"
    __table_args__ = (UniqueConstraint("environment_id", "trigger_identifier"),)
    id: str = id_field()
    environment_id: str = Field(foreign_key="environments.id", index=True)
    notification_group_id: str | None = Field(default=None, foreign_key="notification_groups.id")
    name: str
    trigger_identifier: str
    description: str | None = None
    origin: str = "rest"
    active: bool = True
    critical: bool = False
    tags: list[str] = json_field(default_factory=list)
    preference_settings: dict[str, bool] = json_field()
    data: dict[str, Any] | None = json_field(default_factory=lambda: None)
    steps: list[dict[str, Any]] = json_field(default_factory=list)
    triggers: list[dict[str, Any]] = json_field(default_factory=list)
    payload_schema: dict[str, Any] | None = json_field(default_factory=lambda: None)
    deleted: bool = False
    deleted_at: datetime | None = ts_field()
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class WorkflowOverride(SQLModel, table=True):
    __tablename__ = "workflow_overrides"
    __table_args__ = (UniqueConstraint("workflow_id", "tenant_id"),)
    id: str = id_field()
    environment_id: str = Field(foreign_key="environments.id", index=True)
    #: ``workflow_definitions.id``, the definition's row id (a Temporal ID is ``execution_id``).
    workflow_id: str = Field(foreign_key="workflow_definitions.id")
    tenant_id: str = Field(foreign_key="tenants.id")
    active: bool = True
    preference_settings: dict[str, bool] | None = json_field(default_factory=lambda: None)
    deleted: bool = False
    created_at: datetime = created_field()
    updated_at: datetime = created_field()
