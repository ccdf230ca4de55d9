"""Cursor pagination as Novu's v2 lists answer it: ``after``/``before`` name an item's ``_id``.

The order is (sort column, id) in the requested direction, so equal sort values still page stably.
``next`` is the id of the page's last item when more follow it; ``previous`` the id of its first item
when some precede it. ``totalCount`` is counted up to :data:`COUNT_CAP` (Novu caps its count as well).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import and_, or_
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

T = TypeVar("T")

#: Counting stops here; ``totalCountCapped`` tells the caller the real number is larger.
COUNT_CAP = 50_000


class InvalidCursor(Exception):
    """The ``after``/``before`` id is not an item of this list."""


@dataclass
class CursorPage(Generic[T]):
    rows: list[T]
    next: str | None
    previous: str | None
    total: int
    capped: bool


def _beyond(sort_col: Any, id_col: Any, value: Any, ident: str, *, forward: bool, inclusive: bool) -> Any:
    """Rows strictly after (``forward``) or before the cursor row in ascending (sort, id) order."""
    if sort_col is id_col:
        if forward:
            return id_col >= ident if inclusive else id_col > ident
        return id_col <= ident if inclusive else id_col < ident
    if forward:
        tie = id_col >= ident if inclusive else id_col > ident
        return or_(sort_col > value, and_(sort_col == value, tie))
    tie = id_col <= ident if inclusive else id_col < ident
    return or_(sort_col < value, and_(sort_col == value, tie))


async def cursor_page(
    session: AsyncSession,
    *,
    model: Any,
    where: list[Any],
    sort_col: Any,
    id_col: Any,
    descending: bool,
    limit: int,
    after: str | None = None,
    before: str | None = None,
    include_cursor: bool = False,
) -> CursorPage[Any]:
    """One page of ``model`` rows matching ``where``, ordered by (``sort_col``, ``id_col``)."""
    cursor = after or before
    base = select(model).where(*where)
    conditions: list[Any] = []
    # "Forward" in ascending terms: walking after the cursor of a descending list goes to smaller values.
    toward_end = after is not None
    if cursor is not None:
        found = (await session.exec(select(sort_col).where(*where, id_col == cursor))).first()
        if found is None and not (await session.exec(select(id_col).where(*where, id_col == cursor))).first():
            raise InvalidCursor(cursor)
        conditions.append(
            _beyond(
                sort_col, id_col, found, cursor, forward=toward_end != descending, inclusive=include_cursor
            )
        )
    ascending_walk = (not descending) if (cursor is None or toward_end) else descending
    order = [sort_col.asc(), id_col.asc()] if ascending_walk else [sort_col.desc(), id_col.desc()]
    rows = list((await session.exec(base.where(*conditions).order_by(*order).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    if cursor is not None and not toward_end:
        rows.reverse()
    first = rows[0] if rows else None
    last = rows[-1] if rows else None

    async def exists_beyond(row: Any, *, forward: bool) -> bool:
        value = getattr(row, sort_col.key)
        ident = getattr(row, id_col.key)
        cond = _beyond(sort_col, id_col, value, ident, forward=forward, inclusive=False)
        return (await session.exec(select(id_col).where(*where, cond).limit(1))).first() is not None

    if cursor is None or toward_end:
        has_next = more
        has_prev = first is not None and await exists_beyond(first, forward=descending)
    else:
        has_prev = more
        has_next = last is not None and await exists_beyond(last, forward=not descending)
    counted = (
        await session.exec(
            select(func.count()).select_from(select(id_col).where(*where).limit(COUNT_CAP + 1).subquery())
        )
    ).one()
    total = int(counted)
    return CursorPage(
        rows=rows,
        next=getattr(last, id_col.key) if has_next and last is not None else None,
        previous=getattr(first, id_col.key) if has_prev and first is not None else None,
        total=min(total, COUNT_CAP),
        capped=total > COUNT_CAP,
    )
