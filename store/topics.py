"""Topics, their memberships, and the audience queries fan-out pages through (keyset, by internal id)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import delete
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import Database, utcnow
from store.ids import new_id
from store.models import Subscriber, Topic, TopicSubscriber

#: Ids per IN (...) list: PostgreSQL's driver takes at most 32,767 parameters in one statement.
IN_CHUNK = 10_000


def chunks(items: list[str], size: int = IN_CHUNK) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def get_topic(*, session: AsyncSession, environment_id: str, key: str) -> Topic | None:
    stmt = select(Topic).where(Topic.environment_id == environment_id, Topic.key == key)
    return (await session.exec(stmt)).first()


async def create_topic(
    *, db: Database, session: AsyncSession, environment_id: str, key: str, name: str
) -> Topic | None:
    """Create the topic; ``None`` when the key is taken (a concurrent create included)."""
    row = Topic(environment_id=environment_id, key=key, name=name, created_at=utcnow())
    inserted = await db.insert_ignore(session, Topic, [row.model_dump()], conflict=["environment_id", "key"])
    return row if inserted else None


async def topics_for_keys(*, session: AsyncSession, environment_id: str, keys: list[str]) -> dict[str, Topic]:
    if not keys:
        return {}
    stmt = select(Topic).where(Topic.environment_id == environment_id, col(Topic.key).in_(keys))
    return {t.key: t for t in (await session.exec(stmt)).all()}


async def list_topics(
    *, session: AsyncSession, environment_id: str, page: int, page_size: int, key: str | None = None
) -> tuple[list[Topic], int]:
    """One page of topics (oldest first) and the total count."""
    where = [Topic.environment_id == environment_id]
    if key is not None:
        where.append(Topic.key == key)
    total = (await session.exec(select(func.count()).select_from(Topic).where(*where))).one()
    stmt = (
        select(Topic)
        .where(*where)
        .order_by(col(Topic.created_at), col(Topic.id))
        .offset(page * page_size)
        .limit(page_size)
    )
    return list((await session.exec(stmt)).all()), int(total)


async def member_ids(*, session: AsyncSession, topic_ids: list[str]) -> dict[str, list[str]]:
    """External subscriber ids per topic (what ``GET /v1/topics`` shows)."""
    if not topic_ids:
        return {}
    stmt = (
        select(TopicSubscriber.topic_id, TopicSubscriber.external_subscriber_id)
        .where(col(TopicSubscriber.topic_id).in_(topic_ids))
        .order_by(col(TopicSubscriber.created_at), col(TopicSubscriber.id))
    )
    members: dict[str, list[str]] = {t: [] for t in topic_ids}
    for topic_id, external in (await session.exec(stmt)).all():
        members[topic_id].append(external)
    return members


async def has_members(*, session: AsyncSession, topic_id: str) -> bool:
    stmt = select(TopicSubscriber.id).where(TopicSubscriber.topic_id == topic_id).limit(1)
    return (await session.exec(stmt)).first() is not None


async def delete_topic(*, session: AsyncSession, topic: Topic) -> None:
    await session.delete(topic)
    await session.flush()


async def add_members(
    *, db: Database, session: AsyncSession, topic: Topic, subscriber_ids: list[str]
) -> tuple[list[str], list[str]]:
    """Add existing subscribers (external ids) to the topic; returns (succeeded, not found)."""
    wanted = list(dict.fromkeys(subscriber_ids))
    found: dict[str, str] = {}
    for chunk in chunks(wanted):
        stmt = select(Subscriber.subscriber_id, Subscriber.id).where(
            Subscriber.environment_id == topic.environment_id,
            col(Subscriber.subscriber_id).in_(chunk),
            col(Subscriber.deleted).is_(False),
        )
        found.update(dict((await session.exec(stmt)).all()))
    # One model instance for the defaults, copied per member: a model per row costs ~1 ms each.
    template = TopicSubscriber(
        environment_id=topic.environment_id,
        topic_id=topic.id,
        topic_key=topic.key,
        subscriber_id="",
        external_subscriber_id="",
        created_at=utcnow(),
    ).model_dump()
    rows: list[dict[str, Any]] = [
        {**template, "id": new_id(), "subscriber_id": found[ext], "external_subscriber_id": ext}
        for ext in wanted
        if ext in found
    ]
    await db.insert_ignore(session, TopicSubscriber, rows, conflict=["topic_id", "subscriber_id"])
    return [e for e in wanted if e in found], [e for e in wanted if e not in found]


async def remove_members(*, session: AsyncSession, topic: Topic, subscriber_ids: list[str]) -> None:
    for chunk in chunks(list(dict.fromkeys(subscriber_ids))):
        stmt = delete(TopicSubscriber).where(
            col(TopicSubscriber.topic_id) == topic.id,
            col(TopicSubscriber.external_subscriber_id).in_(chunk),
        )
        await session.exec(stmt)  # type: ignore[call-overload]


async def get_member(*, session: AsyncSession, topic: Topic, subscriber_id: str) -> TopicSubscriber | None:
    stmt = select(TopicSubscriber).where(
        TopicSubscriber.topic_id == topic.id, TopicSubscriber.external_subscriber_id == subscriber_id
    )
    return (await session.exec(stmt)).first()


def _audience_query(
    *,
    environment_id: str,
    topic_ids: list[str],
    broadcast: bool,
    exclude: list[str],
    after: str | None = None,
    until: str | None = None,
) -> Any:
    """Internal subscriber ids of the audience, distinct: topic members or every live subscriber."""
    if broadcast:
        column: Any = col(Subscriber.id)
        stmt = select(column).where(
            Subscriber.environment_id == environment_id, col(Subscriber.deleted).is_(False)
        )
    else:
        column = col(TopicSubscriber.subscriber_id)
        stmt = (
            select(column)
            .join(Subscriber, col(Subscriber.id) == column)
            .where(
                TopicSubscriber.environment_id == environment_id,
                col(TopicSubscriber.topic_id).in_(topic_ids),
                col(Subscriber.deleted).is_(False),
            )
            .distinct()
        )
    if after is not None:
        stmt = stmt.where(column > after)
    if until is not None:
        stmt = stmt.where(column <= until)
    if exclude:
        stmt = stmt.where(column.not_in(exclude))
    return stmt, column


async def audience_page(
    *,
    session: AsyncSession,
    environment_id: str,
    topic_ids: list[str],
    broadcast: bool,
    exclude: list[str],
    after: str | None,
    until: str | None,
    limit: int,
) -> tuple[list[str], bool]:
    """Up to ``limit`` audience ids in ``(after, until]`` in id order (0: all), and whether more follow."""
    stmt, column = _audience_query(
        environment_id=environment_id,
        topic_ids=topic_ids,
        broadcast=broadcast,
        exclude=exclude,
        after=after,
        until=until,
    )
    stmt = stmt.order_by(column)
    if limit:
        stmt = stmt.limit(limit + 1)
    ids = [str(i) for i in (await session.exec(stmt)).all()]
    if limit and len(ids) > limit:
        return ids[:limit], True
    return ids, False


async def count_audience(
    *, session: AsyncSession, environment_id: str, topic_ids: list[str], broadcast: bool, exclude: list[str]
) -> int:
    stmt, _ = _audience_query(
        environment_id=environment_id, topic_ids=topic_ids, broadcast=broadcast, exclude=exclude
    )
    total = (await session.exec(select(func.count()).select_from(stmt.subquery()))).one()
    return int(total)
