"""Rate-limit windows in the app DB: one upsert per request, shared by every API process."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, delete

from store.models import RateLimitWindow


async def spend(*, conn: AsyncConnection, environment_id: str, category: str, window: int, cost: int) -> int:
    """Add ``cost`` to the environment's window for ``category``; returns the window's total so far.

    Runs on a bare connection (no ORM session): this is on every request's path."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    table = RateLimitWindow.__table__  # type: ignore[attr-defined]
    stmt = dialect.insert(table).values(
        environment_id=environment_id, category=category, window=window, used=cost
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["environment_id", "category", "window"], set_={"used": table.c.used + cost}
    ).returning(table.c.used)
    result = await conn.execute(stmt)
    return int(result.scalar_one())


async def forget_before(*, conn: AsyncConnection, window: int) -> None:
    """Delete windows older than ``window`` (they no longer limit anything)."""
    await conn.execute(delete(RateLimitWindow).where(col(RateLimitWindow.window) < window))
