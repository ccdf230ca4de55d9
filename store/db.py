"""Engine and session factory for PostgreSQL (asyncpg) and SQLite (aiosqlite), plus dialect helpers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, text
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
    # isoformat is half the cost of strftime; every subscriber a fan-out renders formats two of these.
    return value.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


#: Set while serving a request that only reads (GET/HEAD): SQLite sessions then start deferred.
_READ_ONLY: ContextVar[bool] = ContextVar("tidings_read_only", default=False)


@contextmanager
def reading() -> Iterator[None]:
    """Sessions opened inside are read-only: on SQLite they do not take the write lock."""
    token = _READ_ONLY.set(True)
    try:
        yield
    finally:
        _READ_ONLY.reset(token)


class Database:
    """One engine and its session factory; built from a URL at start-up.

    ``busy_timeout`` bounds how long a statement waits for a lock (SQLite's busy timeout, PostgreSQL's
    ``lock_timeout``), a pool connection or a new connection; the API keeps it short so a locked or
    unreachable database answers 503 in seconds (api/unavailable.py), the worker keeps the 30 s default
    (its activities are retried anyway).

    SQLite has one writer at a time. Writing sessions take the write lock when they begin (``BEGIN
    IMMEDIATE``: a transaction that read first cannot upgrade to a writer after another one committed —
    "database is locked" — and busy_timeout does not help there). Read-only sessions (:meth:`read`, or
    any session opened under :func:`reading`) begin deferred on a second engine, so in WAL mode they never
    wait for a writer.
    """

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_size: int = 10,
        busy_timeout: float = 30.0,
        lock_timeout: bool = False,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.busy_timeout = busy_timeout
        kwargs: dict[str, Any] = {"echo": echo, "json_serializer": _dumps}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": busy_timeout}
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size
            kwargs["pool_pre_ping"] = False
            kwargs["pool_timeout"] = busy_timeout
            connect: dict[str, Any] = {"timeout": busy_timeout}
            if lock_timeout:
                connect["server_settings"] = {"lock_timeout": str(int(busy_timeout * 1000))}
            kwargs["connect_args"] = connect
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        self.read_engine: AsyncEngine = self.engine
        if self.is_sqlite:
            busy_ms = int(busy_timeout * 1000)
            self.read_engine = create_async_engine(url, **kwargs)
            for engine, begin in ((self.engine, "BEGIN IMMEDIATE"), (self.read_engine, "BEGIN")):
                event.listen(engine.sync_engine, "connect", _sqlite_pragmas(busy_ms))
                event.listen(engine.sync_engine, "begin", _sqlite_begin(begin))
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(
            self.read_engine, class_=AsyncSession, expire_on_commit=False
        )
        #: Called with a committed session's ``info`` when it holds work for after the commit (the
        #: webhook outbox ids :func:`store.webhook_events.emit` leaves there); set by the API and worker.
        self.after_commit: Callable[[dict[str, Any]], Awaitable[None]] | None = None

    @asynccontextmanager
    async def session(self, *, write: bool | None = None) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on error. Read-only when
        ``write`` is False, or when it is None and the caller is inside :func:`reading`."""
        read_only = not write if write is not None else _READ_ONLY.get()
        async with (self._read_sessions if read_only else self._sessions)() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            if session.info and self.after_commit is not None:
                await self.after_commit(session.info)

    def read(self) -> Any:
        """A read-only session (see the class docstring)."""
        return self.session(write=False)

    async def create_all(self) -> None:
        """Create tables straight from the models (used only by throwaway benchmark databases)."""
        from store import models  # noqa: F401  (registers the tables)
        from store.config_versions import trigger_statements

        async with self.engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)
            for statement in trigger_statements(conn.dialect.name):
                await conn.exec_driver_sql(statement)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()

    async def insert_ignore(
        self, session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]], *, conflict: Sequence[str]
    ) -> int:
        """See :func:`insert_ignore`."""
        return await insert_ignore(session, table, rows, conflict=conflict)


async def ping(db: Database) -> None:
    """Raise unless the database answers; on SQLite also unless a write lock can be taken in time
    (up but write-locked past the timeout is down for every write)."""
    async with db.read() as session:
        await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    if db.is_sqlite:
        async with db.session(write=True) as session:
            await session.exec(text("SELECT 1"))  # type: ignore[call-overload]


async def insert_ignore(
    session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]], *, conflict: Sequence[str]
) -> int:
    """Insert rows, silently skipping those that collide on the ``conflict`` unique columns.

    Works on the session's own dialect. Returns how many were inserted for a single row; for several, the
    count the driver reports (it may be -1). Several rows go as one statement on PostgreSQL (``unnest``)
    and as one driver ``executemany`` on SQLite (:func:`_sqlite_executemany`).
    """
    if not rows:
        return 0
    table = getattr(table, "__table__", table)  # a model class or a Table
    bind = session.bind
    is_pg = bind is not None and bind.dialect.name == "postgresql"
    if len(rows) > 1:
        bulk = _pg_insert_arrays if is_pg else _sqlite_executemany
        inserted = await bulk(session, table, rows, conflict)
        if inserted is not None:
            return int(inserted.rowcount or 0)
    stmt = (postgresql.insert if is_pg else sqlite.insert)(table).on_conflict_do_nothing(
        index_elements=list(conflict)
    )
    result: Any
    if len(rows) == 1:
        result = await session.exec(stmt.values(dict(rows[0])))  # type: ignore[call-overload]
    else:
        result = await session.execute(stmt, [dict(r) for r in rows])
    return int(result.rowcount or 0)


async def insert_returning(
    session: AsyncSession,
    table: Any,
    rows: Sequence[dict[str, Any]],
    *,
    conflict: Sequence[str],
    returning: Sequence[str],
) -> list[tuple[Any, ...]] | None:
    """:func:`insert_ignore` that returns ``returning`` of the rows it inserted (not of those skipped).

    PostgreSQL only (one ``unnest`` statement); ``None`` elsewhere, and the caller reads the rows back.
    """
    table = getattr(table, "__table__", table)
    bind = session.bind
    if not rows or bind is None or bind.dialect.name != "postgresql":
        return None
    result = await _pg_insert_arrays(session, table, rows, conflict, returning)
    return None if result is None else list(result.all())


def _bulk_columns(table: Any, rows: Sequence[dict[str, Any]]) -> list[Any] | None:
    """The columns ``rows`` all set, or ``None`` when the rows cannot go as one bulk statement: their keys
    differ, name no column of ``table``, or leave out a column with a Python-side default (which only
    SQLAlchemy's own insert would fill)."""
    keys = rows[0].keys()
    if any(len(r) != len(keys) or r.keys() != keys for r in rows):
        return None
    try:
        columns = [table.columns[k] for k in keys]
    except KeyError:
        return None
    if any(c.default is not None for c in table.columns if c.name not in keys):
        return None
    return columns


def _bound(column: Any, dialect: Any, values: list[Any]) -> list[Any]:
    """``values`` as the driver wants them, the column's bind processor run once per distinct value.

    A cohort's rows share objects — the payload, tags, overrides, a timestamp — and repeat strings;
    JSON-encoding them once per row was ~7% of a fan-out's worker CPU. Distinct means the same object for
    dicts and lists (alive for the whole call, so an ``id`` is not reused) and equal value and type for
    the rest (``True`` and ``1`` encode differently).
    """
    process = column.type._cached_bind_processor(dialect)
    if process is None:
        return values
    done: dict[tuple[type, Any], Any] = {}
    out = []
    for value in values:
        kind = type(value)
        key = (kind, id(value)) if kind is dict or kind is list else (kind, value)
        try:
            bound = done.get(key, _UNSEEN)
        except TypeError:  # unhashable (a tuple holding a dict…): processed as it is
            out.append(process(value))
            continue
        if bound is _UNSEEN:
            bound = done[key] = process(value)
        out.append(bound)
    return out


_UNSEEN = object()


def _insert_sql(
    table: Any, columns: Sequence[Any], dialect: Any, source: str, conflict: Sequence[str]
) -> str:
    """``INSERT INTO table (columns) <source>``, skipping rows that collide on ``conflict`` when given."""
    quote = dialect.identifier_preparer.quote
    sql = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) {source}"
    if conflict:
        sql += f" ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO NOTHING"
    return sql


async def _pg_insert_arrays(
    session: AsyncSession,
    table: Any,
    rows: Sequence[dict[str, Any]],
    conflict: Sequence[str],
    returning: Sequence[str] = (),
) -> Any:
    """Many rows in one PostgreSQL statement: one array per column, ``unnest``'d, ``ON CONFLICT DO
    NOTHING`` — the same exactly-once semantics as the row-by-row insert at a fraction of its cost.

    Measured on the bench machine (10,000 message rows, 500 a call): asyncpg ``executemany`` through
    SQLAlchemy ~2 s, ``COPY`` of the same rows 0.5-1.2 s. Returns ``None`` (the caller falls back) when
    the rows do not share one set of columns, else the result (rows of ``returning``, if any).
    """
    columns = _bulk_columns(table, rows)
    if columns is None:
        return None
    assert session.bind is not None
    dialect = session.bind.dialect
    params: dict[str, list[Any]] = {}
    arrays = []
    for i, column in enumerate(columns):
        params[f"a{i}"] = _bound(column, dialect, [r[column.name] for r in rows])
        arrays.append(f"CAST(:a{i} AS {column.type.compile(dialect=dialect)}[])")
    sql = _insert_sql(table, columns, dialect, f"SELECT * FROM unnest({', '.join(arrays)})", conflict)
    if returning:
        quote = dialect.identifier_preparer.quote
        sql += f" RETURNING {', '.join(quote(c) for c in returning)}"
    return await session.exec(text(sql), params=params)  # type: ignore[call-overload]


async def _sqlite_executemany(
    session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]], conflict: Sequence[str]
) -> Any:
    """Many rows as one sqlite3 ``executemany`` of a prepared ``INSERT`` (what ``bench/floor.py`` does),
    skipping rows that collide on ``conflict`` when it is given.

    SQLAlchemy's executemany builds and processes every row's parameters itself (~40% of a 500-row
    cohort's worker CPU in the three inserts of its in-app step); here each column's values are bound
    once per distinct value (:func:`_bound`). ``None`` when the rows cannot go this way (the caller
    falls back).
    """
    columns = _bulk_columns(table, rows)
    if columns is None:
        return None
    assert session.bind is not None
    dialect = session.bind.dialect
    bound = [_bound(c, dialect, [r[c.name] for r in rows]) for c in columns]
    sql = _insert_sql(table, columns, dialect, f"VALUES ({', '.join('?' for _ in columns)})", conflict)
    connection = await session.connection()
    return await connection.exec_driver_sql(sql, list(zip(*bound, strict=True)))


async def select_keyed(
    session: AsyncSession,
    table: Any,
    *,
    where: dict[str, Any],
    key: str,
    values: Sequence[Any],
    columns: Sequence[str],
) -> list[tuple[Any, ...]] | None:
    """``columns`` of the rows matching ``where`` whose ``key`` is one of ``values`` — on PostgreSQL as a
    join of the unnest'd values, so each is one probe of a unique index that covers ``where`` + ``key``.

    ``key IN (…500 values…)`` was planned as a scan of the whole ``where`` range with the list as a
    filter: a retried fan-out cohort read its 500 rows back in ~0.5-1 s instead of ~25 ms (10,000 rows).
    ``None`` on other databases (the caller uses ``IN``).
    """
    table = getattr(table, "__table__", table)
    bind = session.bind
    if bind is None or bind.dialect.name != "postgresql":
        return None
    if not values:
        return []
    dialect = bind.dialect
    quote = dialect.identifier_preparer.quote
    key_type = table.columns[key].type.compile(dialect=dialect)
    conditions = [f"t.{quote(name)} = :w{i}" for i, name in enumerate(where)]
    conditions.append(f"t.{quote(key)} = k.v")
    sql = (
        f"SELECT {', '.join('t.' + quote(c) for c in columns)} "
        f"FROM unnest(CAST(:values AS {key_type}[])) AS k(v) JOIN {quote(table.name)} AS t "
        f"ON {' AND '.join(conditions)}"
    )
    params: dict[str, Any] = {f"w{i}": value for i, value in enumerate(where.values())}
    params["values"] = list(values)
    result = await session.exec(text(sql), params=params)  # type: ignore[call-overload]
    return [tuple(row) for row in result.all()]


async def insert_rows(session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows that never collide (append-only: execution details); one bulk statement."""
    if not rows:
        return
    table = getattr(table, "__table__", table)
    if len(rows) > 1:
        is_pg = session.bind is not None and session.bind.dialect.name == "postgresql"
        bulk = _pg_insert_arrays if is_pg else _sqlite_executemany
        if await bulk(session, table, rows, ()) is not None:
            return
    await session.execute(table.insert(), [dict(r) for r in rows])


def rows_for(model: Any, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Complete ``rows`` with the model's defaults (a fresh id each) without building a model per row.

    Constructing and dumping one SQLModel instance per row cost about a millisecond each — most of a
    500-subscriber cohort's in-app step — so the defaults are computed once and copied.
    """
    from store.ids import new_ids

    defaults = model.model_construct().model_dump()
    return [{**defaults, "id": i, **r} for i, r in zip(new_ids(len(rows)), rows, strict=True)]


def _sqlite_begin(statement: str) -> Any:
    def begin(conn: Any) -> None:
        conn.exec_driver_sql(statement)

    return begin


def _sqlite_pragmas(busy_ms: int) -> Any:
    def pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.close()

    return pragmas
