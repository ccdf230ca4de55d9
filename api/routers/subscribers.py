"""``/v1/subscribers``: create (upsert), read, and the in-app feed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, EmailStr

from api.deps import CurrentEnv, DbDep
from api.errors import BadRequest, NotFound
from api.wire import ok, query_bool, query_int
from store.messages import feed_page
from store.models import Message, Subscriber
from store.subscribers import get_subscriber, upsert_subscriber
from store.views import message_view, subscriber_view

router = APIRouter(prefix="/v1/subscribers", tags=["subscribers"])


class SubscriberBody(BaseModel):
    """Novu's ``CreateSubscriberRequestDto``. Nulls are allowed (the Python SDK sends them)."""

    model_config = ConfigDict(extra="ignore")
    subscriberId: str
    email: EmailStr | None = None
    firstName: str | None = None
    lastName: str | None = None
    phone: str | None = None
    avatar: str | None = None
    locale: str | None = None
    timezone: str | None = None
    data: dict[str, Any] | None = None
    channels: list[dict[str, Any]] | None = None


def public(sub: Subscriber, env: CurrentEnv) -> dict[str, Any]:
    return subscriber_view(sub, organization_id=env.organization_id)


@router.post("", status_code=201)
async def create_subscriber(body: SubscriberBody, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        sub, _ = await upsert_subscriber(
            session=session,
            environment_id=env.id,
            subscriber_id=body.subscriberId,
            fields=body.model_dump(exclude={"subscriberId", "channels"}),
        )
    return ok(public(sub, env))


@router.get("/{subscriber_id}")
async def read_subscriber(subscriber_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        sub = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
    if sub is None:
        raise NotFound(f"Subscriber not found for id {subscriber_id}")
    return ok(public(sub, env))


def feed_item(msg: Message, sub: Subscriber, env: CurrentEnv) -> dict[str, Any]:
    item = message_view(msg, organization_id=env.organization_id)
    item["subscriber"] = {
        k: v
        for k, v in {
            "_id": sub.id,
            "subscriberId": sub.subscriber_id,
            "firstName": sub.first_name,
            "lastName": sub.last_name,
            "avatar": sub.avatar,
        }.items()
        if v is not None
    }
    item["template"] = {"_id": msg.workflow_id, "tags": msg.tags or []}
    return item


@router.get("/{subscriber_id}/notifications/feed")
async def notifications_feed(
    subscriber_id: str,
    env: CurrentEnv,
    db: DbDep,
    page: str | None = Query(None),
    limit: str | None = Query(None),
    seen: str | None = Query(None),
    read: str | None = Query(None),
) -> dict[str, Any]:
    """The subscriber's in-app messages, newest first; paginated at the top level as Novu answers."""
    page_n = query_int("page", page, default=0, minimum=0)
    limit_n = query_int("limit", limit, default=10, minimum=1, maximum=100)
    async with db.session() as session:
        sub = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
        if sub is None:
            raise BadRequest(
                f"Subscriber not found for this environment with the id: {subscriber_id}. "
                "Make sure to create a subscriber before fetching the feed."
            )
        rows, has_more = await feed_page(
            session=session,
            environment_id=env.id,
            subscriber_id=sub.id,
            page=page_n,
            limit=limit_n,
            seen=query_bool("seen", seen),
            read=query_bool("read", read),
        )
    return {
        "data": [feed_item(m, sub, env) for m in rows],
        "totalCount": len(rows),
        "hasMore": has_more,
        "pageSize": limit_n,
        "page": page_n,
    }
