"""Per-environment version stamps of what the trigger path reads, and how an API process watches them.

Database triggers bump ``config_versions.version`` for the environment in the same transaction as every
insert, update or delete of :data:`WATCHED` tables — whoever writes (a router, a store function, a test
writing rows straight to the database, another process, psql). So nothing above the database has to
remember to invalidate anything. An API process then knows cheaply whether what it cached is current:

- SQLite: :class:`SqliteStamps` reads the environment's counter with a plain ``sqlite3`` connection on each
  look-up (a primary-key read on a WAL database: ~10 µs, no session, no thread hop). It is exact: a write
  committed before the read is always seen.
- PostgreSQL: :class:`PgStamps` ``LISTEN``s on :data:`PG_CHANNEL` (the trigger ``pg_notify``s the
  environment id) and counts notifications per environment, so a look-up costs no database work at all.
  Writes this process commits through SQLAlchemy bump the stamp locally as well (read-your-writes does
  not wait for the notification); another process's write is seen once its notification arrives (it
  is sent at commit). While the listener is not connected :meth:`PgStamps.stamp` answers ``None`` and
  nothing is cached or served from the cache; every reconnection starts a new epoch (notifications sent
  while disconnected are lost, so everything cached before is dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Hashable
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("tidings.config")

#: Table → the column naming its environment. What ``admit`` and the API-key look-up read.
WATCHED = {
    "workflow_definitions": "environment_id",
    "workflow_overrides": "environment_id",
    "tenants": "environment_id",
    "api_keys": "environment_id",
    "environments": "id",
}
PG_CHANNEL = "tidings_config"
_PG_FUNCTION = "tidings_config_bump"

_PG_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  envs text[];
  env text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    envs := ARRAY[to_jsonb(OLD) ->> TG_ARGV[0]];
  ELSIF TG_OP = 'UPDATE' THEN
    envs := ARRAY[to_jsonb(NEW) ->> TG_ARGV[0], to_jsonb(OLD) ->> TG_ARGV[0]];
  ELSE
    envs := ARRAY[to_jsonb(NEW) ->> TG_ARGV[0]];
  END IF;
  FOREACH env IN ARRAY envs LOOP
    CONTINUE WHEN env IS NULL;
    INSERT INTO config_versions (environment_id, version) VALUES (env, 1)
      ON CONFLICT (environment_id) DO UPDATE SET version = config_versions.version + 1;
    PERFORM pg_notify('{PG_CHANNEL}', env);
  END LOOP;
  RETURN NULL;
END $$
"""


#: TRUNCATE fires no row trigger: it tells every listener to drop everything.
_PG_TRUNCATED_SQL = f"""
CREATE OR REPLACE FUNCTION {_PG_FUNCTION}_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('{PG_CHANNEL}', '*');
  RETURN NULL;
END $$
"""


def _sqlite_bump(ref: str) -> str:
    return (
        f"INSERT OR IGNORE INTO config_versions (environment_id, version) VALUES ({ref}, 0); "
        f"UPDATE config_versions SET version = version + 1 WHERE environment_id = {ref};"
    )


def trigger_statements(dialect: str) -> list[str]:
    """DDL installing the bump triggers on every :data:`WATCHED` table (idempotent)."""
    if dialect == "postgresql":
        out = [_PG_FUNCTION_SQL, _PG_TRUNCATED_SQL]
        for table, column in WATCHED.items():
            name = f"{table}_config_bump"
            out.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            out.append(
                f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {_PG_FUNCTION}('{column}')"
            )
            out.append(f"DROP TRIGGER IF EXISTS {table}_config_truncate ON {table}")
            out.append(
                f"CREATE TRIGGER {table}_config_truncate AFTER TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}_all()"
            )
        return out
    out = []
    for table, column in WATCHED.items():
        bodies = {
            "insert": _sqlite_bump(f"NEW.{column}"),
            "update": _sqlite_bump(f"NEW.{column}") + " " + _sqlite_bump(f"OLD.{column}"),
            "delete": _sqlite_bump(f"OLD.{column}"),
        }
        for op, body in bodies.items():
            out.append(
                f"CREATE TRIGGER IF NOT EXISTS {table}_config_bump_{op} AFTER {op.upper()} ON {table} "
                f"FOR EACH ROW BEGIN {body} END"
            )
    return out


def drop_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        out = [f"DROP TRIGGER IF EXISTS {t}_config_{k} ON {t}" for t in WATCHED for k in ("bump", "truncate")]
        return [
            *out,
            f"DROP FUNCTION IF EXISTS {_PG_FUNCTION}()",
            f"DROP FUNCTION IF EXISTS {_PG_FUNCTION}_all()",
        ]
    return [
        f"DROP TRIGGER IF EXISTS {t}_config_bump_{op}"
        for t in WATCHED
        for op in ("insert", "update", "delete")
    ]


def on_config_write(engine: AsyncEngine, callback: Callable[[], None]) -> None:
    """Call ``callback`` when a transaction of ``engine`` that wrote a :data:`WATCHED` table commits."""
    markers = tuple(WATCHED)

    def after_execute(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        head = statement.lstrip()[:6].upper()
        if head in ("INSERT", "UPDATE", "DELETE", "TRUNCA") and any(t in statement for t in markers):
            conn.info["config_written"] = True

    def commit(conn: Any) -> None:
        if not conn.invalidated and conn.info.pop("config_written", False):
            callback()

    def rollback(conn: Any) -> None:
        # A connection the database dropped is invalidated: touching its ``info`` would try to reconnect
        # (PendingRollbackError) and hide the real error; its DBAPI connection (and info) is gone anyway.
        if not conn.invalidated:
            conn.info.pop("config_written", None)

    event.listen(engine.sync_engine, "after_cursor_execute", after_execute)
    event.listen(engine.sync_engine, "commit", commit)
    event.listen(engine.sync_engine, "rollback", rollback)


class SqliteStamps:
    """The environment's counter, read on every look-up (exact; see the module docstring)."""

    def __init__(self, url: str) -> None:
        self.path = make_url(url).database or ""
        self._conn: sqlite3.Connection | None = None

    async def start(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=0.05)
        conn.execute("PRAGMA query_only=ON")
        self._conn = conn

    async def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def stamp(self, environment_id: str) -> Hashable | None:
        if self._conn is None:
            return None
        try:
            row = self._conn.execute(
                "SELECT version FROM config_versions WHERE environment_id = ?", (environment_id,)
            ).fetchone()
        except sqlite3.Error:  # busy or missing table: read from the database instead of the cache
            return None
        return int(row[0]) if row else 0


class PgStamps:
    """Notifications counted per environment on a ``LISTEN`` connection (see the module docstring)."""

    #: How often the idle LISTEN connection is checked (a dead one also reports itself at once).
    PING_SECONDS = 5.0

    def __init__(self, url: str, engine: AsyncEngine | None = None) -> None:
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.epoch = 0
        self.listening = False
        self._counts: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        if engine is not None:
            on_config_write(engine, self.invalidate_all)

    def stamp(self, environment_id: str) -> Hashable | None:
        if not self.listening:
            return None
        return (self.epoch, self._counts.get(environment_id, 0))

    def invalidate(self, environment_id: str) -> None:
        self._counts[environment_id] = self._counts.get(environment_id, 0) + 1

    def invalidate_all(self) -> None:
        self.epoch += 1

    def _lost(self) -> None:
        self.listening = False
        self.epoch += 1

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())
        with contextlib.suppress(TimeoutError):  # not listening yet: nothing is cached until it is
            await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._lost()

    async def _listen(self) -> None:
        def on_notify(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            if payload == "*":
                self.invalidate_all()
            else:
                self.invalidate(payload)

        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self.dsn)
                conn.add_termination_listener(lambda _c: self._lost())
                await conn.add_listener(PG_CHANNEL, on_notify)
                self.epoch += 1
                self.listening = True
                self._ready.set()
                while True:
                    await asyncio.sleep(self.PING_SECONDS)
                    await conn.execute("SELECT 1")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("config-version listener lost its connection; reconnecting")
                self._lost()
                await asyncio.sleep(1)
            finally:
                self._lost()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()


Stamps = SqliteStamps | PgStamps


def stamps_for(url: str, engine: AsyncEngine | None = None) -> Stamps:
    return SqliteStamps(url) if url.startswith("sqlite") else PgStamps(url, engine)
