"""In-app feeds: named buckets an in-app step can put its messages in (``messages.feed_id``)."""

from __future__ import annotations

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import insert_ignore
from store.models import Feed


async def list_feeds(*, session: AsyncSession, environment_id: str) -> list[Feed]:
    stmt = (
        select(Feed)
        .where(Feed.environment_id == environment_id, col(Feed.deleted).is_(False))
        .order_by(col(Feed.created_at), col(Feed.id))
    )
    return list((await session.exec(stmt)).all())


async def create_feed(*, session: AsyncSession, environment_id: str, name: str) -> Feed | None:
    """A feed whose identifier is its name; ``None`` when that identifier exists already."""
    feed = Feed(environment_id=environment_id, name=name, identifier=name)
    if not await insert_ignore(session, Feed, [feed.model_dump()], conflict=["environment_id", "identifier"]):
        return None
    return feed


async def delete_feed(*, session: AsyncSession, environment_id: str, feed_id: str) -> None:
    """Remove the feed (its identifier becomes free again); messages keep their ``feed_id``."""
    await session.exec(
        delete(Feed).where(col(Feed.environment_id) == environment_id, col(Feed.id) == feed_id)
    )  # type: ignore[call-overload]
