"""A subscriber's in-app inbox: the feed, the unseen count, marking messages and CTA actions."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from fastapi import Query, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, StrictBool
from pydantic_core import PydanticCustomError
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import CurrentEnv, DbDep
from api.errors import BadRequest, NotFound
from api.responses import Count, MessageOut
from api.views import feed_item_view, message_view
from api.wire import Data, Page, WireRouter, ok, query_bool, query_int
from store.message_events import message_changed
from store.messages import (
    MARKS,
    feed_ids_for,
    feed_page,
    get_message,
    legacy_mark_values,
    mark_all,
    mark_messages,
    mark_values,
    set_action,
    unseen_count,
)
from store.subscribers import get_subscriber
from store.tenancy import EnvironmentRef

router = WireRouter(prefix="/v1/subscribers", tags=["subscriber messages"])

INVALID_PAYLOAD = "Invalid payload, the JSON object should be encoded to base64 string."


def _one_of(*allowed: str) -> Any:
    def check(value: str) -> str:
        if value not in allowed:
            raise PydanticCustomError(
                "enum_invalid", "must be one of the following values: " + ", ".join(allowed)
            )
        return value

    return AfterValidator(check)


MarkAs = Annotated[str, _one_of(*MARKS)]


class LegacyMark(BaseModel):
    seen: StrictBool | None = None
    read: StrictBool | None = None


class LegacyMarkBody(BaseModel):
    """``POST …/messages/markAs`` (deprecated): ``messageId`` may be a list or ``"a,b"``."""

    model_config = ConfigDict(extra="ignore")
    messageId: str | list[str] | None = None
    mark: LegacyMark = LegacyMark()


class MarkAsBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    messageId: str | list[str] | None = None
    markAs: MarkAs


class MarkAllBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    markAs: MarkAs
    feedIdentifier: str | list[str] | None = None


class ActionBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: Annotated[str, _one_of("pending", "done")]
    payload: dict[str, Any] | None = None


def message_ids(value: str | list[str] | None) -> list[str]:
    ids = [value] if isinstance(value, str) else list(value or [])
    ids = [part.strip() for item in ids for part in item.split(",") if part.strip()]
    if not ids:
        raise BadRequest("messageId is required")
    return ids


def decode_payload(value: str | None) -> dict[str, Any] | None:
    """The feed's ``payload`` filter: a base64-encoded JSON object."""
    if value is None or value == "":
        return None
    try:
        decoded = json.loads(base64.b64decode(value + "=" * (-len(value) % 4), validate=True))
    except (binascii.Error, ValueError):
        raise BadRequest(INVALID_PAYLOAD) from None
    if not isinstance(decoded, dict):
        raise BadRequest(INVALID_PAYLOAD)
    return decoded


def feed_identifiers(request: Request, body_value: str | list[str] | None = None) -> list[str] | None:
    if body_value is not None:
        return [body_value] if isinstance(body_value, str) else list(body_value)
    values = request.query_params.getlist("feedIdentifier") + request.query_params.getlist("feedIdentifier[]")
    return values or None


async def resolve_feeds(
    session: AsyncSession, env: EnvironmentRef, identifiers: list[str] | None
) -> list[str] | None:
    if identifiers is None:
        return None
    return await feed_ids_for(session=session, environment_id=env.id, identifiers=identifiers)


@router.get("/{subscriber_id}/notifications/feed", response_model=Page[MessageOut])
async def notifications_feed(
    subscriber_id: str,
    request: Request,
    env: CurrentEnv,
    db: DbDep,
    page: str | None = Query(None),
    limit: str | None = Query(None),
    seen: str | None = Query(None),
    read: str | None = Query(None),
    payload: str | None = Query(None),
) -> dict[str, Any]:
    """The subscriber's in-app messages, newest first; paginated at the top level as Novu answers.

    ``totalCount`` is the size of the returned page (Novu's quirk, which clients and tests rely on).
    """
    page_n = query_int("page", page, default=0, minimum=0)
    limit_n = query_int("limit", limit, default=10, minimum=1, maximum=100)
    seen_b, read_b = query_bool("seen", seen), query_bool("read", read)
    payload_filter = decode_payload(payload)
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
            seen=seen_b,
            read=read_b,
            feed_ids=await resolve_feeds(session, env, feed_identifiers(request)),
            payload=payload_filter,
        )
    return {
        "data": [feed_item_view(m, sub, env) for m in rows],
        "totalCount": len(rows),
        "hasMore": has_more,
        "pageSize": limit_n,
        "page": page_n,
    }


@router.get("/{subscriber_id}/notifications/unseen", response_model=Data[Count])
async def unseen(
    subscriber_id: str,
    request: Request,
    env: CurrentEnv,
    db: DbDep,
    seen: str | None = Query(None),
    read: str | None = Query(None),
    limit: str | None = Query(None),
) -> dict[str, Any]:
    seen_b = query_bool("seen", seen)
    read_b = query_bool("read", read)
    limit_n = query_int("limit", limit, default=100, minimum=1)
    async with db.session() as session:
        sub = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
        if sub is None:
            raise BadRequest(
                f"Subscriber {subscriber_id} is not exist in environment {env.id}, "
                "please provide a valid subscriber identifier"
            )
        count = await unseen_count(
            session=session,
            environment_id=env.id,
            subscriber_id=sub.id,
            seen=bool(seen_b),
            read=read_b,
            limit=limit_n,
            feed_ids=await resolve_feeds(session, env, feed_identifiers(request)),
        )
    return ok({"count": count})


async def _mark(
    env: EnvironmentRef, db: DbDep, subscriber_id: str, ids: list[str], values: dict[str, Any], event: str
) -> dict[str, Any]:
    async with db.session() as session:
        sub = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
        if sub is None:
            raise NotFound(f"Subscriber {subscriber_id} not found")
        rows = await mark_messages(
            session=session, environment_id=env.id, subscriber_id=sub.id, message_ids=ids, values=values
        )
        if rows:
            await message_changed(
                session=session,
                environment_id=env.id,
                subscriber_id=sub.id,
                event=event,
                message_ids=[m.id for m in rows],
            )
    return ok([message_view(m, organization_id=env.organization_id) for m in rows])


@router.post("/{subscriber_id}/messages/markAs", status_code=201, response_model=Data[list[MessageOut]])
async def legacy_mark_as(
    subscriber_id: str, body: LegacyMarkBody, env: CurrentEnv, db: DbDep
) -> dict[str, Any]:
    ids = message_ids(body.messageId)
    mark = body.mark
    event = (
        ("read" if mark.read else "unread") if mark.read is not None else ("seen" if mark.seen else "unseen")
    )
    return await _mark(env, db, subscriber_id, ids, legacy_mark_values(seen=mark.seen, read=mark.read), event)


@router.post("/{subscriber_id}/messages/mark-as", status_code=201, response_model=Data[list[MessageOut]])
async def mark_as(subscriber_id: str, body: MarkAsBody, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    ids = message_ids(body.messageId)
    return await _mark(env, db, subscriber_id, ids, mark_values(body.markAs), body.markAs)


@router.post("/{subscriber_id}/messages/mark-all", status_code=201, response_model=Data[int])
async def mark_all_as(
    subscriber_id: str, body: MarkAllBody, request: Request, env: CurrentEnv, db: DbDep
) -> dict[str, Any]:
    """Only messages whose state differs change; answers how many did."""
    async with db.session() as session:
        sub = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
        if sub is None:
            raise NotFound(
                f"Subscriber {subscriber_id} does not exist in environment {env.id}, "
                "please provide a valid subscriber identifier"
            )
        changed = await mark_all(
            session=session,
            environment_id=env.id,
            subscriber_id=sub.id,
            mark_as=body.markAs,
            feed_ids=await resolve_feeds(session, env, feed_identifiers(request, body.feedIdentifier)),
        )
        if changed:
            # Which ones is not known after a bulk UPDATE; sockets only need to recount.
            await message_changed(
                session=session,
                environment_id=env.id,
                subscriber_id=sub.id,
                event=body.markAs,
                message_ids=[],
            )
    return ok(changed)


@router.post(
    "/{subscriber_id}/messages/{message_id}/actions/{button}",
    status_code=201,
    response_model=Data[MessageOut],
)
async def message_action(
    subscriber_id: str, message_id: str, button: str, body: ActionBody, env: CurrentEnv, db: DbDep
) -> dict[str, Any]:
    """Record the outcome of a CTA button (``primary`` or ``secondary``)."""
    if button not in ("primary", "secondary"):
        raise BadRequest(["type must be one of the following values: primary, secondary"])
    async with db.session() as session:
        message = await get_message(session=session, environment_id=env.id, message_id=message_id)
        if message is None:
            raise NotFound(f"Message {message_id} not found")
        sub = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
        if sub is None:
            raise BadRequest(f"Subscriber {subscriber_id} not found")
        if message.subscriber_id != sub.id:
            raise BadRequest(f"Message {message_id} does not belong to subscriber {subscriber_id}")
        message = await set_action(
            session=session, message=message, button=button, status=body.status, payload=body.payload
        )
        await message_changed(
            session=session,
            environment_id=env.id,
            subscriber_id=sub.id,
            event="action",
            message_ids=[message.id],
        )
    return ok(message_view(message, organization_id=env.organization_id))
