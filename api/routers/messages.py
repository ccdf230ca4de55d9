"""``/v1/messages``: every channel's messages, newest first; soft delete one or a transaction's."""

from __future__ import annotations

from typing import Any

from fastapi import Query, Response

from api.deps import CurrentEnv, DbDep
from api.errors import BadRequest, NotFound
from api.responses import Deleted, MessageOut
from api.views import message_view, subscriber_view
from api.wire import Data, Page, WireRouter, ok, query_int
from store.activity import delete_message, delete_transaction_messages, list_messages, subscribers_by_id
from store.subscribers import get_subscriber

router = WireRouter(prefix="/v1/messages", tags=["messages"])

CHANNELS = ("in_app", "email", "sms", "chat", "push")
MAX_LIMIT = 1000


def check_channel(channel: str | None) -> None:
    if channel is not None and channel not in CHANNELS:
        raise BadRequest([f"channel must be one of the following values: {', '.join(CHANNELS)}"])


@router.get("", response_model=Page[MessageOut])
async def list_(
    env: CurrentEnv,
    db: DbDep,
    page: str | None = None,
    limit: str | None = None,
    channel: str | None = None,
    subscriber_id: str | None = Query(None, alias="subscriberId"),
    transaction_id: list[str] | None = Query(None, alias="transactionId"),
) -> dict[str, Any]:
    page_no = query_int("page", page, default=0, minimum=0)
    size = query_int("limit", limit, default=10, minimum=1)
    if size > MAX_LIMIT:
        raise BadRequest("Limit can not be larger then 1000")
    check_channel(channel)
    async with db.session() as session:
        internal: str | None = None
        if subscriber_id is not None:
            sub = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
            if sub is None:
                raise NotFound(f"Subscriber not found for id {subscriber_id}")
            internal = sub.id
        rows, total = await list_messages(
            session=session,
            environment_id=env.id,
            page=page_no,
            limit=size,
            channel=channel,
            subscriber_id=internal,
            transaction_ids=transaction_id,
        )
        subscribers = await subscribers_by_id(session=session, ids=list({m.subscriber_id for m in rows}))
    data = []
    for msg in rows:
        item = message_view(msg, organization_id=env.organization_id)
        sub = subscribers.get(msg.subscriber_id)
        if sub is not None:
            item["subscriber"] = subscriber_view(sub, organization_id=env.organization_id)
        data.append(item)
    return {
        "page": page_no,
        "totalCount": total,
        "hasMore": page_no * size + len(data) < total,
        "pageSize": size,
        "data": data,
    }


@router.delete("/transaction/{transaction_id}", status_code=204)
async def delete_transaction(
    transaction_id: str, env: CurrentEnv, db: DbDep, channel: str | None = None
) -> Response:
    check_channel(channel)
    async with db.session() as session:
        await delete_transaction_messages(
            session=session, environment_id=env.id, transaction_id=transaction_id, channel=channel
        )
    return Response(status_code=204)


@router.delete("/{message_id}", response_model=Data[Deleted])
async def delete(message_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        deleted = await delete_message(session=session, environment_id=env.id, message_id=message_id)
    if not deleted:
        raise NotFound(f"Message with id {message_id} not found")
    return ok({"acknowledged": True, "status": "deleted"})
