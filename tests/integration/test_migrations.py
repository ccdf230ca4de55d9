"""The Alembic migrations build exactly the schema the models declare, on PostgreSQL and SQLite."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import store.models  # noqa: F401
from tests.support import Stack


def _diff(connection) -> list:  # type: ignore[no-untyped-def]
    ctx = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(ctx, SQLModel.metadata))


async def test_migrations_match_models(any_stack: Stack) -> None:
    async with any_stack.db.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == [], f"models and migrations differ (edit store/migrations/versions): {diff}"
