"""``/v2/topics`` and ``/v2/subscribers/{id}/subscriptions``: Novu's v2 topics over the v1 rows.

List (cursor, ``key``/``name`` filters), create-or-update (``failIfExists`` → 409), get, rename,
forced delete; subscriptions listed, created (ids or ``{identifier, subscriberId}``, at most 100 a
call), deleted, and read or updated one at a time by identifier.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import CurrentEnv, DbDep
from api.errors import BadRequest, Conflict, NotFound
from api.responses import Acknowledged
from api.responses_v2 import SubscriptionBatchOut, SubscriptionBriefOut, SubscriptionOut, TopicV2Out
from api.subscription_views import (
    CreateSubscriptionsBody,
    DeleteSubscriptionsBody,
    UpdateSubscriptionBody,
    Views,
    batch_result,
    normalize_preferences,
    topic_view,
)
from api.v2wire import CursorQuery, cursor_list, cursor_query
from api.wire import CursorList, Data, WireRouter, compact, ok, query_bool
from store.cursor import CursorPage, InvalidCursor
from store.models import Topic, TopicSubscriber
from store.subscribers import get_subscriber
from store.tenancy import EnvironmentRef
from store.topic_subscriptions import (
    SUBSCRIPTION_ORDER,
    TOPIC_ORDER,
    SubscriptionSpec,
    delete_topic_and_subscriptions,
    find_subscription,
    identifier_of,
    rename_topic,
    search_topics,
    subscribe,
    subscriptions_page,
    unsubscribe,
    update_subscription,
    upsert_topic,
    valid_topic_key,
)
from store.topics import get_topic

router = WireRouter(tags=["topics v2"])

MAX_SUBSCRIPTIONS = 100


class TopicBody(BaseModel):
    """Novu's ``CreateUpdateTopicRequestDto``."""

    model_config = ConfigDict(extra="ignore")
    key: Annotated[str, Field(min_length=1, max_length=100)]
    name: Annotated[str | None, Field(max_length=100)] = None


class RenameBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: Annotated[str, Field(min_length=1, max_length=100)]


TopicPage = Annotated[CursorQuery, Depends(cursor_query(TOPIC_ORDER))]
SubscriptionPage = Annotated[CursorQuery, Depends(cursor_query(SUBSCRIPTION_ORDER))]


def topic_not_found(key: str) -> NotFound:
    return NotFound(f"Topic with key {key} not found")


async def require_topic(session: AsyncSession, env: EnvironmentRef, key: str) -> Topic:
    topic = await get_topic(session=session, environment_id=env.id, key=key)
    if topic is None:
        raise topic_not_found(key)
    return topic


def limit_list(items: list[Any] | None, too_many: str, empty: str) -> None:
    """Novu's ``ArrayMaxSize(100)``/``ArrayMinSize(1)`` on a subscription list, with its messages."""
    if items is not None and len(items) > MAX_SUBSCRIPTIONS:
        raise BadRequest([too_many])
    if items is not None and not items:
        raise BadRequest([empty])


# ---------------------------------------------------------------- topics


@router.get("/v2/topics", response_model=CursorList[TopicV2Out])
async def list_topics(
    env: CurrentEnv,
    db: DbDep,
    page: TopicPage,
    key: str | None = Query(None),
    name: str | None = Query(None),
) -> dict[str, Any]:
    async with db.session() as session:
        try:
            result = await search_topics(
                session=session,
                environment_id=env.id,
                key=key,
                name=name,
                order_by=page.order_by,
                descending=page.descending,
                limit=page.limit,
                after=page.after,
                before=page.before,
                include_cursor=page.include_cursor,
            )
        except InvalidCursor as exc:
            raise BadRequest(f"Invalid cursor: {exc}") from exc
    return cursor_list(result, topic_view)


@router.post(
    "/v2/topics",
    status_code=201,
    response_model=Data[TopicV2Out],
    responses={200: {"model": Data[TopicV2Out], "description": "The topic existed and was updated"}},
)
async def upsert(
    body: TopicBody, env: CurrentEnv, db: DbDep, response: Response, failIfExists: str | None = Query(None)
) -> dict[str, Any]:
    """201 when created, 200 when an existing topic was updated (or left as it was)."""
    fail = query_bool("failIfExists", failIfExists) or False
    async with db.session() as session:
        existing = await get_topic(session=session, environment_id=env.id, key=body.key)
        if existing is not None and fail:
            raise Conflict(
                {
                    **topic_view(existing),
                    "message": f'Topic with key "{body.key}" already exists',
                    "error": "Conflict",
                }
            )
        if existing is None and not valid_topic_key(body.key):
            raise BadRequest(
                f'Invalid topic key: "{body.key}". Topic keys must contain only alphanumeric characters '
                "(a-z, A-Z, 0-9), hyphens (-), underscores (_), colons (:), or be a valid email address."
            )
        topic, created = await upsert_topic(
            db=db, session=session, environment_id=env.id, key=body.key, name=body.name
        )
    response.status_code = 201 if created else 200
    return ok(topic_view(topic))


@router.get("/v2/topics/{topic_key}", response_model=Data[TopicV2Out])
async def get_one(topic_key: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        topic = await require_topic(session, env, topic_key)
    return ok(topic_view(topic))


@router.patch("/v2/topics/{topic_key}", response_model=Data[TopicV2Out])
async def update(topic_key: str, body: RenameBody, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        topic = await require_topic(session, env, topic_key)
        topic = await rename_topic(session=session, topic=topic, name=body.name)
    return ok(topic_view(topic))


@router.delete("/v2/topics/{topic_key}", response_model=Data[Acknowledged])
async def delete(topic_key: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        topic = await require_topic(session, env, topic_key)
        await delete_topic_and_subscriptions(session=session, topic=topic)
    return ok({"acknowledged": True})


# ---------------------------------------------------------------- subscriptions


async def _subscription_list(
    session: AsyncSession, env: EnvironmentRef, page: CursorQuery, **where: Any
) -> dict[str, Any]:
    try:
        result: CursorPage[TopicSubscriber] = await subscriptions_page(
            session=session,
            environment_id=env.id,
            order_by=page.order_by,
            descending=page.descending,
            limit=page.limit,
            after=page.after,
            before=page.before,
            include_cursor=page.include_cursor,
            **where,
        )
    except InvalidCursor as exc:
        raise BadRequest(f"Invalid cursor: {exc}") from exc
    views = await Views(env).load(session, result.rows)
    return cursor_list(result, views.subscription)


@router.get("/v2/topics/{topic_key}/subscriptions", response_model=CursorList[SubscriptionOut])
async def list_subscriptions(
    topic_key: str,
    env: CurrentEnv,
    db: DbDep,
    page: SubscriptionPage,
    subscriberId: str | None = Query(None),
) -> dict[str, Any]:
    async with db.session() as session:
        topic = await require_topic(session, env, topic_key)
        return await _subscription_list(
            session, env, page, topic_id=topic.id, external_subscriber_id=subscriberId
        )


@router.get("/v2/subscribers/{subscriber_id}/subscriptions", response_model=CursorList[SubscriptionOut])
async def subscriber_subscriptions(
    subscriber_id: str, env: CurrentEnv, db: DbDep, page: SubscriptionPage, key: str | None = Query(None)
) -> dict[str, Any]:
    async with db.session() as session:
        sub = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
        if sub is None:
            raise NotFound(f"Subscriber with id: {subscriber_id} not found")
        return await _subscription_list(session, env, page, subscriber_row_id=sub.id, topic_key=key)


@router.post(
    "/v2/topics/{topic_key}/subscriptions", status_code=201, response_model=Data[SubscriptionBatchOut]
)
async def create_subscriptions(
    topic_key: str, body: CreateSubscriptionsBody, env: CurrentEnv, db: DbDep
) -> dict[str, Any]:
    """Subscribe; the topic is created when it does not exist yet."""
    limit_list(
        body.subscriberIds,
        "Cannot subscribe more than 100 subscribers at once",
        "At least one subscriber identifier is required",
    )
    limit_list(
        body.subscriptions,
        "Cannot subscribe more than 100 subscriptions at once",
        "At least one subscription is required",
    )
    specs = [SubscriptionSpec(subscriber_id=s) for s in body.subscriberIds or []]
    for item in body.subscriptions or []:
        if isinstance(item, str):
            specs.append(SubscriptionSpec(subscriber_id=item))
        else:
            specs.append(
                SubscriptionSpec(subscriber_id=item.subscriberId, identifier=item.identifier, name=item.name)
            )
    if not specs:
        raise BadRequest(["Either subscriberIds or subscriptions must be provided"])
    if len(specs) > MAX_SUBSCRIPTIONS:
        raise BadRequest(["Cannot subscribe more than 100 subscriptions at once"])
    preferences = normalize_preferences(body.preferences)
    async with db.session() as session:
        topic = await get_topic(session=session, environment_id=env.id, key=topic_key)
        if topic is None:
            if not valid_topic_key(topic_key):
                raise BadRequest(f'Invalid topic key: "{topic_key}".')
            topic, _ = await upsert_topic(
                db=db, session=session, environment_id=env.id, key=topic_key, name=None
            )
        outcome = await subscribe(
            session=session, topic=topic, specs=specs, name=body.name, preferences=preferences
        )
        views = await Views(env).load(session, outcome.rows)
        result = batch_result(outcome, views, len(specs))
    return ok(result)


@router.delete("/v2/topics/{topic_key}/subscriptions", response_model=Data[SubscriptionBatchOut])
async def delete_subscriptions(
    topic_key: str, body: DeleteSubscriptionsBody, env: CurrentEnv, db: DbDep
) -> dict[str, Any]:
    limit_list(
        body.subscriberIds,
        "Cannot delete more than 100 subscribers at once",
        "At least one subscriber identifier is required",
    )
    limit_list(
        body.subscriptions,
        "Cannot delete more than 100 subscriptions at once",
        "At least one subscription is required",
    )
    specs = [SubscriptionSpec(subscriber_id=s) for s in body.subscriberIds or []]
    for item in body.subscriptions or []:
        if isinstance(item, str):
            specs.append(SubscriptionSpec(subscriber_id=item))
        elif item.identifier or item.subscriberId:
            specs.append(SubscriptionSpec(subscriber_id=item.subscriberId or "", identifier=item.identifier))
        else:
            raise BadRequest(["subscriptions must name an identifier or a subscriberId"])
    if not specs:
        raise BadRequest(["Either subscriberIds or subscriptions must be provided"])
    if len(specs) > MAX_SUBSCRIPTIONS:
        raise BadRequest(["Cannot delete more than 100 subscriptions at once"])
    async with db.session() as session:
        topic = await require_topic(session, env, topic_key)
        views = Views(env)
        views.topics = {topic.id: topic}
        outcome = await unsubscribe(session=session, topic=topic, specs=specs)
        views.subscribers = outcome.subscribers
        result = batch_result(outcome, views, len(specs))
    return ok(result)


@router.get(
    "/v2/topics/{topic_key}/subscriptions/{identifier}",
    response_model=None,
    responses={
        200: {"model": Data[SubscriptionBriefOut]},
        204: {"description": "The topic has no subscription with this identifier"},
    },
)
async def get_subscription(
    topic_key: str, identifier: str, env: CurrentEnv, db: DbDep
) -> dict[str, Any] | Response:
    """Novu answers 204 (no body) when the topic has no subscription with this identifier."""
    async with db.session() as session:
        topic = await require_topic(session, env, topic_key)
        row = await find_subscription(session=session, topic=topic, identifier=identifier)
        if row is None:
            return Response(status_code=204)
        views = await Views(env).load(session, [row])
    return ok(
        compact(
            {
                "id": row.id,
                "identifier": identifier_of(row),
                "name": row.name,
                "preferences": views.preferences(row),
            }
        )
    )


@router.patch("/v2/topics/{topic_key}/subscriptions/{identifier}", response_model=Data[SubscriptionOut])
async def update_one_subscription(
    topic_key: str, identifier: str, body: UpdateSubscriptionBody, env: CurrentEnv, db: DbDep
) -> dict[str, Any]:
    async with db.session() as session:
        topic = await require_topic(session, env, topic_key)
        row = await find_subscription(session=session, topic=topic, identifier=identifier)
        if row is None:
            raise NotFound(f"Subscription with identifier {identifier} not found")
        row = await update_subscription(
            session=session, row=row, name=body.name, preferences=normalize_preferences(body.preferences)
        )
        views = await Views(env).load(session, [row])
    return ok(views.subscription(row))
