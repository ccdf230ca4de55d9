"""The database's own floor for storing rows: what ``topic_fanout_100k`` is measured against.

The same message rows Tidings' fan-out stores, into the same table with the same indexes, by the
fastest path each database has, with no ORM and no conflict handling: PostgreSQL ``COPY`` (asyncpg
``copy_records_to_table``, binary), SQLite one transaction of ``executemany`` (sqlite3, a prepared
``INSERT`` stepped once per row). Rows are built before the clock starts; the clock stops at commit.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON

from store.db import Database, rows_for


def _columns(table: Any) -> list[tuple[str, str]]:
    """(name, kind) per column, kind ``json`` / ``time`` / ``plain`` (how the raw drivers want values)."""
    out = []
    for column in table.columns:
        kind = "plain"
        if isinstance(column.type, JSON):
            kind = "json"
        elif "DateTime" in type(column.type).__name__ or "UTCDateTime" in type(column.type).__name__:
            kind = "time"
        out.append((column.name, kind))
    return out


def _value(value: Any, kind: str, sqlite: bool) -> Any:
    if value is None:
        return None
    if kind == "json":
        return json.dumps(value, separators=(",", ":"))
    if kind == "time" and isinstance(value, datetime):
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else value
    return value


async def store_floor(db: Database, model: Any, rows: list[dict[str, Any]]) -> float:
    """Seconds to store ``rows`` (completed with the model's defaults) by the database's fastest path."""
    table = model.__table__
    columns = _columns(table)
    full = rows_for(model, rows)
    records = [tuple(_value(r.get(name), kind, db.is_sqlite) for name, kind in columns) for r in full]
    names = [name for name, _ in columns]
    if db.is_sqlite:
        path = db.url.split("///", 1)[1]
        return await asyncio.to_thread(_sqlite_floor, path, table.name, names, records)
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        apg: Any = raw.driver_connection
        t0 = time.perf_counter()
        async with apg.transaction():
            await apg.copy_records_to_table(table.name, records=records, columns=names)
        return time.perf_counter() - t0


def _sqlite_floor(path: str, table: str, names: list[str], records: list[tuple[Any, ...]]) -> float:
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")  # as the app's connections
        marks = ", ".join("?" for _ in names)
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, records)
        conn.execute("COMMIT")
        return time.perf_counter() - t0
    finally:
        conn.close()
