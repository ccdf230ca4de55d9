"""Recurring schedules (a trigger repeated on a calendar, run by a Temporal Schedule of the same id) and
translations: the tables of the features beyond Novu's open-source core."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from store.models._types import created_field, id_field, json_field, ts_field


class RecurringSchedule(SQLModel, table=True):
    """What to trigger and when. Temporal owns the timing state (paused, next and recent runs); this row
    owns the request, keyed by environment so no route can reach another environment's schedule.

    ``key`` is the author's name for a schedule declared in code (``origin='code'``); REST schedules
    have none.
    """

    __tablename__ = "recurring_schedules"
    __table_args__ = (UniqueConstraint("environment_id", "key"),)
    id: str = id_field()
    environment_id: str = Field(foreign_key="environments.id", index=True)
    key: str | None = None
    origin: str = "rest"
    workflow_identifier: str
    to: Any = json_field(default_factory=list)
    payload: dict[str, Any] = json_field()
    repeat: dict[str, Any] = json_field()
    timezone: str = "UTC"
    start_at: datetime | None = ts_field()
    end_at: datetime | None = ts_field()
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class Translation(SQLModel, table=True):
    """One locale's texts for a workflow or a layout (Novu's translations API)."""

    __tablename__ = "translations"
    __table_args__ = (UniqueConstraint("environment_id", "resource_type", "resource_id", "locale"),)
    id: str = id_field()
    environment_id: str = Field(foreign_key="environments.id", index=True)
    resource_type: str
    resource_id: str
    locale: str
    content: dict[str, Any] = json_field()
    created_at: datetime = created_field()
    updated_at: datetime = created_field()
