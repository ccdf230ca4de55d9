"""Novu's v2 topics: upsert, filtered cursor lists, and subscriptions with identifiers.

The rows are the v1 ones (``topics``, ``topic_subscribers``), so a subscription made over v2 is a
member for ``/v1/topics`` and for fan-out, and the other way round. A v1 membership has no stored
identifier; its identifier is the default one, ``tk_<topicKey>:si_<subscriberId>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.cursor import CursorPage, cursor_page
from store.db import Database, insert_ignore, utcnow
from store.ids import new_id
from store.models import Subscriber, Topic, TopicSubscriber, WorkflowDefinition
from store.subscriber_search import like_pattern
from store.topics import create_topic, get_topic

#: ``orderBy`` values for topics and subscriptions → columns.
TOPIC_ORDER = {"_id": "id", "createdAt": "created_at"}
SUBSCRIPTION_ORDER = {"_id": "id", "createdAt": "created_at"}

_KEY = re.compile(r"^[A-Za-z0-9_:-]+$")
_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")


def valid_topic_key(key: str) -> bool:
    """Novu's rule: letters, digits, ``-``, ``_``, ``:`` — or an email address."""
    return bool(_KEY.match(key) or _EMAIL.match(key))


def default_identifier(topic_key: str, subscriber_id: str) -> str:
    return f"tk_{topic_key}:si_{subscriber_id}"


def identifier_of(row: TopicSubscriber) -> str:
    return row.identifier or default_identifier(row.topic_key, row.external_subscriber_id)


async def upsert_topic(
    *, db: Database, session: AsyncSession, environment_id: str, key: str, name: str | None
) -> tuple[Topic, bool]:
    """Create the topic, or rename it when a name is given. Returns (topic, created)."""
    topic = await get_topic(session=session, environment_id=environment_id, key=key)
    if topic is None:
        made = await create_topic(
            db=db, session=session, environment_id=environment_id, key=key, name=name or key
        )
        topic = await get_topic(session=session, environment_id=environment_id, key=key)
        assert topic is not None
        if made is not None:
            topic.updated_at = topic.created_at
            session.add(topic)
            await session.flush()
            return topic, True
    if name:
        topic = await rename_topic(session=session, topic=topic, name=name)
    return topic, False


async def rename_topic(*, session: AsyncSession, topic: Topic, name: str) -> Topic:
    topic.name = name
    topic.updated_at = utcnow()
    session.add(topic)
    await session.flush()
    return topic


async def delete_topic_and_subscriptions(*, session: AsyncSession, topic: Topic) -> None:
    """Novu's v2 delete is forced: the subscriptions go with the topic."""
    await session.exec(delete(TopicSubscriber).where(col(TopicSubscriber.topic_id) == topic.id))  # type: ignore[call-overload]
    await session.delete(topic)
    await session.flush()


async def search_topics(
    *,
    session: AsyncSession,
    environment_id: str,
    key: str | None,
    name: str | None,
    order_by: str,
    descending: bool,
    limit: int,
    after: str | None,
    before: str | None,
    include_cursor: bool,
) -> CursorPage[Topic]:
    where: list[Any] = [Topic.environment_id == environment_id]
    if key:
        where.append(col(Topic.key).ilike(like_pattern(key), escape="\\"))
    if name:
        where.append(col(Topic.name).ilike(like_pattern(name), escape="\\"))
    return await cursor_page(
        session,
        model=Topic,
        where=where,
        sort_col=col(getattr(Topic, TOPIC_ORDER[order_by])),
        id_col=col(Topic.id),
        descending=descending,
        limit=limit,
        after=after,
        before=before,
        include_cursor=include_cursor,
    )


async def subscriptions_page(
    *,
    session: AsyncSession,
    environment_id: str,
    topic_id: str | None = None,
    subscriber_row_id: str | None = None,
    external_subscriber_id: str | None = None,
    topic_key: str | None = None,
    order_by: str,
    descending: bool,
    limit: int,
    after: str | None,
    before: str | None,
    include_cursor: bool,
) -> CursorPage[TopicSubscriber]:
    """A topic's subscriptions (``topic_id``) or a subscriber's (``subscriber_row_id``), one page."""
    where: list[Any] = [TopicSubscriber.environment_id == environment_id]
    if topic_id is not None:
        where.append(TopicSubscriber.topic_id == topic_id)
    if subscriber_row_id is not None:
        where.append(TopicSubscriber.subscriber_id == subscriber_row_id)
    if external_subscriber_id:
        where.append(TopicSubscriber.external_subscriber_id == external_subscriber_id)
    if topic_key:
        where.append(TopicSubscriber.topic_key == topic_key)
    return await cursor_page(
        session,
        model=TopicSubscriber,
        where=where,
        sort_col=col(getattr(TopicSubscriber, SUBSCRIPTION_ORDER[order_by])),
        id_col=col(TopicSubscriber.id),
        descending=descending,
        limit=limit,
        after=after,
        before=before,
        include_cursor=include_cursor,
    )


@dataclass
class SubscriptionSpec:
    """One requested subscription: the subscriber, and optionally its identifier and name."""

    subscriber_id: str
    identifier: str | None = None
    name: str | None = None


@dataclass
class SubscriptionOutcome:
    rows: list[TopicSubscriber] = field(default_factory=list)
    subscribers: dict[str, Subscriber] = field(default_factory=dict)  # internal id → row
    errors: list[dict[str, str]] = field(default_factory=list)


async def _live_subscribers(
    *, session: AsyncSession, environment_id: str, ids: list[str]
) -> dict[str, Subscriber]:
    """External id → live subscriber row."""
    if not ids:
        return {}
    stmt = select(Subscriber).where(
        Subscriber.environment_id == environment_id,
        col(Subscriber.subscriber_id).in_(ids),
        col(Subscriber.deleted).is_(False),
    )
    return {s.subscriber_id: s for s in (await session.exec(stmt)).all()}


def _not_found(subscriber_id: str) -> dict[str, str]:
    return {
        "subscriberId": subscriber_id,
        "code": "SUBSCRIBER_NOT_FOUND",
        "message": f"Subscriber with ID '{subscriber_id}' could not be found.",
    }


async def subscribe(
    *,
    session: AsyncSession,
    topic: Topic,
    specs: list[SubscriptionSpec],
    name: str | None = None,
    preferences: list[dict[str, Any]] | None = None,
) -> SubscriptionOutcome:
    """Subscribe existing subscribers; an existing subscription is returned as it is (idempotent).

    One subscription per subscriber and topic: a second identifier for the same subscriber names
    the subscription it already has.
    """
    outcome = SubscriptionOutcome()
    found = await _live_subscribers(
        session=session, environment_id=topic.environment_id, ids=list({s.subscriber_id for s in specs})
    )
    existing = {
        r.subscriber_id: r
        for r in (
            await session.exec(
                select(TopicSubscriber).where(
                    TopicSubscriber.topic_id == topic.id,
                    col(TopicSubscriber.subscriber_id).in_([s.id for s in found.values()]),
                )
            )
        ).all()
    }
    now = utcnow()
    for spec in specs:
        sub = found.get(spec.subscriber_id)
        if sub is None:
            outcome.errors.append(_not_found(spec.subscriber_id))
            continue
        outcome.subscribers[sub.id] = sub
        row = existing.get(sub.id)
        if row is None:
            identifier = spec.identifier or default_identifier(topic.key, sub.subscriber_id)
            taken = await find_subscription(session=session, topic=topic, identifier=identifier)
            if taken is not None and taken.subscriber_id == sub.id:
                taken = None  # made meanwhile by a concurrent request: the insert below finds it
            if taken is not None:
                outcome.errors.append(
                    {
                        "subscriberId": spec.subscriber_id,
                        "code": "SUBSCRIPTION_IDENTIFIER_TAKEN",
                        "message": f"Subscription identifier '{identifier}' is already used in this topic.",
                    }
                )
                continue
            new = TopicSubscriber(
                id=new_id(),
                environment_id=topic.environment_id,
                topic_id=topic.id,
                topic_key=topic.key,
                subscriber_id=sub.id,
                external_subscriber_id=sub.subscriber_id,
                identifier=identifier,
                name=spec.name or name,
                preferences=preferences,
                created_at=now,
                updated_at=now,
            )
            # A concurrent subscribe of the same subscriber wins quietly; both answer its row.
            await insert_ignore(
                session, TopicSubscriber, [new.model_dump()], conflict=["topic_id", "subscriber_id"]
            )
            row = (
                await session.exec(
                    select(TopicSubscriber).where(
                        TopicSubscriber.topic_id == topic.id, TopicSubscriber.subscriber_id == sub.id
                    )
                )
            ).one()
            existing[sub.id] = row
        if row not in outcome.rows:
            outcome.rows.append(row)
    return outcome


async def unsubscribe(
    *, session: AsyncSession, topic: Topic, specs: list[SubscriptionSpec]
) -> SubscriptionOutcome:
    """Remove subscriptions named by subscriber (and identifier, when given); report the misses."""
    outcome = SubscriptionOutcome()
    found = await _live_subscribers(
        session=session,
        environment_id=topic.environment_id,
        ids=list({s.subscriber_id for s in specs if s.subscriber_id}),
    )
    for spec in specs:
        row: TopicSubscriber | None
        if spec.identifier:
            row = await find_subscription(session=session, topic=topic, identifier=spec.identifier)
            if row is not None and spec.subscriber_id and row.external_subscriber_id != spec.subscriber_id:
                row = None
        else:
            sub = found.get(spec.subscriber_id)
            if sub is None:
                outcome.errors.append(_not_found(spec.subscriber_id))
                continue
            row = (
                await session.exec(
                    select(TopicSubscriber).where(
                        TopicSubscriber.topic_id == topic.id, TopicSubscriber.subscriber_id == sub.id
                    )
                )
            ).first()
        if row is None:
            outcome.errors.append(
                {
                    "subscriberId": spec.subscriber_id,
                    "code": "SUBSCRIPTION_NOT_FOUND",
                    "message": f"Subscription for subscriber '{spec.subscriber_id}' not found.",
                }
            )
            continue
        if row not in outcome.rows:
            outcome.rows.append(row)
    subscriber_rows = await _rows_by_id(session, [r.subscriber_id for r in outcome.rows])
    outcome.subscribers.update(subscriber_rows)
    for row in outcome.rows:
        await session.delete(row)
    await session.flush()
    return outcome


async def _rows_by_id(session: AsyncSession, ids: list[str]) -> dict[str, Subscriber]:
    if not ids:
        return {}
    rows = (await session.exec(select(Subscriber).where(col(Subscriber.id).in_(ids)))).all()
    return {s.id: s for s in rows}


async def find_subscription(
    *, session: AsyncSession, topic: Topic, identifier: str
) -> TopicSubscriber | None:
    """The topic's subscription with this identifier (a v1 membership answers to its default one)."""
    conditions: list[Any] = [col(TopicSubscriber.identifier) == identifier]
    prefix = f"tk_{topic.key}:si_"
    if identifier.startswith(prefix):
        conditions.append(
            and_(
                col(TopicSubscriber.identifier).is_(None),
                col(TopicSubscriber.external_subscriber_id) == identifier[len(prefix) :],
            )
        )
    stmt = select(TopicSubscriber).where(TopicSubscriber.topic_id == topic.id, or_(*conditions))
    return (await session.exec(stmt)).first()


async def update_subscription(
    *, session: AsyncSession, row: TopicSubscriber, name: str | None, preferences: list[dict[str, Any]] | None
) -> TopicSubscriber:
    if name is not None:
        row.name = name
    if preferences is not None:
        row.preferences = preferences
    if row.identifier is None:
        row.identifier = identifier_of(row)
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    return row


async def load_topics(*, session: AsyncSession, ids: list[str]) -> dict[str, Topic]:
    if not ids:
        return {}
    rows = (await session.exec(select(Topic).where(col(Topic.id).in_(list(set(ids)))))).all()
    return {t.id: t for t in rows}


async def load_subscriber_rows(*, session: AsyncSession, ids: list[str]) -> dict[str, Subscriber]:
    return await _rows_by_id(session, list(set(ids)))


async def environment_workflows(*, session: AsyncSession, environment_id: str) -> list[WorkflowDefinition]:
    """Live workflows of the environment (to resolve subscription preferences to workflows)."""
    stmt = select(WorkflowDefinition).where(
        WorkflowDefinition.environment_id == environment_id, col(WorkflowDefinition.deleted).is_(False)
    )
    return list((await session.exec(stmt.order_by(col(WorkflowDefinition.created_at)))).all())
