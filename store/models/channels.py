"""Integrations (provider credentials, encrypted at rest) and email layouts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from store.models._types import created_field, id_field, json_field, ts_field


class Integration(SQLModel, table=True):
    __tablename__ = "integrations"
    __table_args__ = (UniqueConstraint("organization_id", "identifier"),)
    id: str = id_field()
    organization_id: str = Field(foreign_key="organizations.id", index=True)
    environment_id: str = Field(foreign_key="environments.id", index=True)
    name: str
    identifier: str
    provider_id: str
    channel: str
    credentials_encrypted: str = ""
    active: bool = True
    primary: bool = False
    priority: int = 0
    conditions: list[dict[str, Any]] = json_field(default_factory=list)
    deleted: bool = False
    deleted_at: datetime | None = ts_field()
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class Layout(SQLModel, table=True):
    __tablename__ = "layouts"
    id: str = id_field()
    environment_id: str = Field(foreign_key="environments.id", index=True)
    name: str
    identifier: str = Field(index=True)
    description: str | None = None
    channel: str = "email"
    content: str
    content_type: str = "customHtml"
    variables: list[dict[str, Any]] = json_field(default_factory=list)
    is_default: bool = False
    deleted: bool = False
    created_at: datetime = created_field()
    updated_at: datetime = created_field()
