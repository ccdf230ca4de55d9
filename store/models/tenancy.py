"""Organizations → environments → API keys; tenants inside an environment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from store.models._types import created_field, id_field, json_field


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"
    id: str = id_field()
    name: str
    branding: dict[str, Any] = json_field()
    created_at: datetime = created_field()


class Environment(SQLModel, table=True):
    __tablename__ = "environments"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)
    id: str = id_field()
    organization_id: str = Field(foreign_key="organizations.id", index=True)
    name: str
    identifier: str = Field(unique=True)
    created_at: datetime = created_field()


class ApiKey(SQLModel, table=True):
    """Only the SHA-256 of a key is stored for look-up; the key itself is shown once. ``key_encrypted``
    holds it sealed with the credential cipher, because Inbox HMAC (``subscriberHash``) is keyed by it."""

    __tablename__ = "api_keys"
    id: str = id_field()
    environment_id: str = Field(foreign_key="environments.id", index=True)
    key_hash: str = Field(unique=True, max_length=64)
    hint: str = ""
    key_encrypted: str | None = None
    created_at: datetime = created_field()


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"
    __table_args__ = (UniqueConstraint("environment_id", "identifier"),)
    id: str = id_field()
    environment_id: str = Field(foreign_key="environments.id", index=True)
    identifier: str
    name: str | None = None
    data: dict[str, Any] = json_field()
    created_at: datetime = created_field()
    updated_at: datetime = created_field()
