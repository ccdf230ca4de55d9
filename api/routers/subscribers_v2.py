"""``/v2/subscribers``: search (cursor pages), create (``failIfExists``), retrieve, patch, delete.

Novu's v2 controller over the same rows as ``/v1/subscribers``. Bulk create stays ``/v1/subscribers/bulk``
(novu-py and @novu/api call it there).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentEnv, DbDep
from api.errors import BadRequest, Conflict, NotFound
from api.responses import Deleted, SubscriberOut
from api.routers.subscribers import Email, Locale, Timezone
from api.v2wire import CursorQuery, cursor_list, cursor_query
from api.views import subscriber_view
from api.wire import CursorList, Data, WireRouter, ok, query_bool
from store.cursor import InvalidCursor
from store.subscriber_search import SUBSCRIBER_ORDER, search_subscribers
from store.subscribers import delete_subscriber, get_subscriber, patch_subscriber, upsert_subscriber

router = WireRouter(prefix="/v2/subscribers", tags=["subscribers v2"])


class PatchSubscriberBody(BaseModel):
    """Novu's ``PatchSubscriberRequestDto``: every field optional and nullable."""

    model_config = ConfigDict(extra="ignore")
    firstName: str | None = None
    lastName: str | None = None
    email: Email = None
    phone: str | None = None
    avatar: str | None = None
    locale: Locale = None
    timezone: Timezone = None
    data: dict[str, Any] | None = None


class CreateSubscriberBody(PatchSubscriberBody):
    """Novu's v2 ``CreateSubscriberRequestDto``."""

    subscriberId: Annotated[str, Field(min_length=1)]


SearchQuery = Annotated[CursorQuery, Depends(cursor_query(SUBSCRIBER_ORDER))]


def not_found(subscriber_id: str) -> NotFound:
    return NotFound(f"Subscriber: {subscriber_id} was not found")


@router.get("", response_model=CursorList[SubscriberOut])
async def search(
    env: CurrentEnv,
    db: DbDep,
    page: SearchQuery,
    email: str | None = Query(None),
    phone: str | None = Query(None),
    subscriberId: str | None = Query(None),
    name: str | None = Query(None),
) -> dict[str, Any]:
    async with db.session() as session:
        try:
            result = await search_subscribers(
                session=session,
                environment_id=env.id,
                email=email,
                phone=phone,
                subscriber_id=subscriberId,
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
    return cursor_list(result, lambda s: subscriber_view(s, organization_id=env.organization_id))


@router.post("", status_code=201, response_model=Data[SubscriberOut])
async def create(
    body: CreateSubscriberBody, env: CurrentEnv, db: DbDep, failIfExists: str | None = Query(None)
) -> dict[str, Any]:
    """Create, or update the given fields of an existing subscriber; 409 instead when ``failIfExists``."""
    fail = query_bool("failIfExists", failIfExists) or False
    # Novu passes ``field || undefined``: empty strings leave the stored value alone.
    fields = {k: v for k, v in body.model_dump(exclude={"subscriberId"}).items() if v not in ("", None)}
    async with db.session() as session:
        if fail:
            existing = await get_subscriber(
                session=session, environment_id=env.id, subscriber_id=body.subscriberId
            )
            if existing is not None:
                # The SDKs parse a 409 as the existing subscriber; Novu's error fields come along.
                raise Conflict(
                    {
                        **subscriber_view(existing, organization_id=env.organization_id),
                        "message": f"Subscriber with subscriberId: {body.subscriberId} already exists",
                        "error": "Conflict",
                    }
                )
        sub, created = await upsert_subscriber(
            session=session, environment_id=env.id, subscriber_id=body.subscriberId, fields=fields
        )
        if created and sub.data is None:
            sub = await patch_subscriber(session=session, row=sub, fields={"data": {}})
    return ok(subscriber_view(sub, organization_id=env.organization_id))


@router.get("/{subscriber_id}", response_model=Data[SubscriberOut])
async def retrieve(subscriber_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        sub = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
    if sub is None:
        raise not_found(subscriber_id)
    return ok(subscriber_view(sub, organization_id=env.organization_id))


@router.patch("/{subscriber_id}", response_model=Data[SubscriberOut])
async def patch(subscriber_id: str, body: PatchSubscriberBody, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        sub = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
        if sub is None:
            raise NotFound(f"Subscriber {subscriber_id} was not found")
        sub = await patch_subscriber(
            session=session, row=sub, fields=body.model_dump(include=body.model_fields_set)
        )
    return ok(subscriber_view(sub, organization_id=env.organization_id))


@router.delete("/{subscriber_id}", response_model=Data[Deleted])
async def delete(subscriber_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        sub = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
        if sub is None:
            raise NotFound({"message": "Subscriber was not found", "externalSubscriberId": subscriber_id})
        await delete_subscriber(session=session, row=sub)
    return ok({"acknowledged": True, "status": "deleted"})
