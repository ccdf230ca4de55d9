"""Engine and session factory for PostgreSQL (asyncpg) and SQLite (aiosqlite), plus dialect helpers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


def utcnow() -> datetime:
    return datetime.now(UTC)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def iso(value: datetime | None) -> str | None:
    """Novu's timestamp format: ISO 8601 in UTC with milliseconds and a ``Z``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class Database:
    """One engine and its session factory; built from a URL at start-up."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo, "json_serializer": _dumps}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size
            kwargs["pool_pre_ping"] = False
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin_immediate)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        #: Called with a committed session's ``info`` when it holds work for after the commit (the
        #: webhook outbox ids :func:`store.webhook_events.emit` leaves there); set by the API and worker.
        self.after_commit: Callable[[dict[str, Any]], Awaitable[None]] | None = None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on error."""
        async with self._sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            if session.info and self.after_commit is not None:
                await self.after_commit(session.info)

    async def create_all(self) -> None:
        """Create tables straight from the models (used only by throwaway benchmark databases)."""
        from store import models  # noqa: F401  (registers the tables)

        async with self.engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)

    async def dispose(self) -> None:
        await self.engine.dispose()

    async def insert_ignore(
        self, session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]], *, conflict: Sequence[str]
    ) -> int:
        """See :func:`insert_ignore`."""
        return await insert_ignore(session, table, rows, conflict=conflict)


async def insert_ignore(
    session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]], *, conflict: Sequence[str]
) -> int:
    """Insert rows, silently skipping those that collide on the ``conflict`` unique columns.

    Works on the session's own dialect. Returns how many were inserted for a single row; for several, the
    count the driver reports (it may be -1). Several rows go as one executemany: a multi-VALUES statement
    with thousands of bind parameters costs more to compile than to run (a 500-subscriber cohort's messages).
    """
    if not rows:
        return 0
    table = getattr(table, "__table__", table)  # a model class or a Table
    bind = session.bind
    is_pg = bind is not None and bind.dialect.name == "postgresql"
    stmt = (postgresql.insert if is_pg else sqlite.insert)(table).on_conflict_do_nothing(
        index_elements=list(conflict)
    )
    result: Any
    if len(rows) == 1:
        result = await session.exec(stmt.values(dict(rows[0])))  # type: ignore[call-overload]
    else:
        result = await session.execute(stmt, [dict(r) for r in rows])
    return int(result.rowcount or 0)


def rows_for(model: Any, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Complete ``rows`` with the model's defaults (a fresh id each) without building a model per row.

    Constructing and dumping one SQLModel instance per row cost about a millisecond each — most of a
    500-subscriber cohort's in-app step — so the defaults are computed once and copied.
    """
    from store.ids import new_id

    defaults = model.model_construct().model_dump()
    return [{**defaults, "id": new_id(), **r} for r in rows]


def _sqlite_begin_immediate(conn: Any) -> None:
    """Take SQLite's write lock when a transaction starts: a transaction that read first cannot upgrade
    to a writer after another one committed ("database is locked"), and busy_timeout does not help there."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
