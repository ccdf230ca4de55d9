"""Novu's v2 subscriber search: filters on email, phone, subscriberId and name, cursor pages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from store.cursor import CursorPage, cursor_page
from store.models import Subscriber

#: ``orderBy`` values Novu accepts for subscribers → columns.
SUBSCRIBER_ORDER = {"_id": "id", "createdAt": "created_at", "updatedAt": "updated_at"}


def like_pattern(text: str) -> str:
    """A case-insensitive substring pattern with LIKE's wildcards escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(column: Any, text: str) -> Any:
    return col(column).ilike(like_pattern(text), escape="\\")


async def search_subscribers(
    *,
    session: AsyncSession,
    environment_id: str,
    email: str | None = None,
    phone: str | None = None,
    subscriber_id: str | None = None,
    name: str | None = None,
    order_by: str = "_id",
    descending: bool = True,
    limit: int = 10,
    after: str | None = None,
    before: str | None = None,
    include_cursor: bool = False,
) -> CursorPage[Subscriber]:
    """Live subscribers whose fields contain the given texts (case-insensitive), one cursor page."""
    where: list[Any] = [Subscriber.environment_id == environment_id, col(Subscriber.deleted).is_(False)]
    if email:
        where.append(_contains(Subscriber.email, email))
    if phone:
        where.append(_contains(Subscriber.phone, phone))
    if subscriber_id:
        where.append(_contains(Subscriber.subscriber_id, subscriber_id))
    if name:
        full = col(Subscriber.first_name) + " " + col(Subscriber.last_name)
        where.append(
            or_(
                _contains(Subscriber.first_name, name),
                _contains(Subscriber.last_name, name),
                full.ilike(like_pattern(name), escape="\\"),
            )
        )
    return await cursor_page(
        session,
        model=Subscriber,
        where=where,
        sort_col=col(getattr(Subscriber, SUBSCRIBER_ORDER[order_by])),
        id_col=col(Subscriber.id),
        descending=descending,
        limit=limit,
        after=after,
        before=before,
        include_cursor=include_cursor,
    )
