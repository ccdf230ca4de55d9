"""Wire helpers shared by Novu's v2 routes: cursor query parameters and the cursor list shape."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import Query

from api.errors import BadRequest
from api.wire import query_bool, query_int
from store.cursor import CursorPage

MAX_LIMIT = 100


@dataclass
class CursorQuery:
    after: str | None
    before: str | None
    limit: int
    descending: bool
    order_by: str
    include_cursor: bool


def cursor_query(orders: Iterable[str]) -> Callable[..., CursorQuery]:
    """A dependency reading ``after/before/limit/orderBy/orderDirection/includeCursor`` Novu-style."""
    allowed = list(orders)

    def dependency(
        after: str | None = Query(None),
        before: str | None = Query(None),
        limit: str | None = Query(None),
        orderBy: str | None = Query(None),
        orderDirection: str | None = Query(None),
        includeCursor: str | None = Query(None),
    ) -> CursorQuery:
        messages: list[str] = []
        if after and before:
            messages.append("Cannot specify both after and before cursors at the same time")
        direction = (orderDirection or "DESC").upper()
        if direction not in ("ASC", "DESC"):
            messages.append("orderDirection must be one of the following values: ASC, DESC")
        order_by = orderBy or "_id"
        if order_by not in allowed:
            messages.append(f"orderBy must be one of the following values: {', '.join(allowed)}")
        if messages:
            raise BadRequest(messages)
        return CursorQuery(
            after=after or None,
            before=before or None,
            limit=query_int("limit", limit, default=10, minimum=1, maximum=MAX_LIMIT),
            descending=direction == "DESC",
            order_by=order_by,
            include_cursor=query_bool("includeCursor", includeCursor) or False,
        )

    return dependency


def cursor_list(page: CursorPage[Any], view: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """``{data, next, previous, totalCount, totalCountCapped}``: not wrapped, it already has ``data``."""
    return {
        "data": [view(row) for row in page.rows],
        "next": page.next,
        "previous": page.previous,
        "totalCount": page.total,
        "totalCountCapped": page.capped,
    }
