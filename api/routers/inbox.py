"""``/v1/inbox``: what Novu's browser client (``@novu/js``, ``<Inbox />``) calls, scoped by a subscriber
session token (issue 11). Notifications are the same in-app ``messages`` rows the v1 feed serves."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import DbDep, SettingsDep
from api.errors import BadRequest, NotFound
from api.inbox_auth import InboxDep, InboxSession, issue_token
from api.inbox_views import inbox_notification_view, unread_counts
from api.responses_v2 import CountsOut, InboxList, InboxNotificationOut, InboxSessionOut
from api.wire import Data, WireRouter, ok, query_bool, query_int
from store.crypto import CredentialCipher
from store.db import utcnow
from store.hmac_keys import subscriber_hash_ok
from store.inbox import (
    InboxFilter,
    change_action,
    change_notifications,
    count_notifications,
    get_notification,
    list_notifications,
    reload,
    workflows_for,
)
from store.models import Message
from store.subscribers import active_integration, get_subscriber, upsert_subscriber
from store.tenancy import environment_by_identifier

router = WireRouter(prefix="/v1/inbox", tags=["inbox"])

MAX_SNOOZE = timedelta(days=90)
UNREAD = InboxFilter(read=False, archived=False)


class SubscriberPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")
    subscriberId: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    email: str | None = None
    phone: str | None = None
    avatar: str | None = None
    locale: str | None = None
    timezone: str | None = None
    data: dict[str, Any] | None = None


class SessionBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    applicationIdentifier: str = Field(min_length=1)
    subscriberId: str | None = None
    subscriber: SubscriberPayload | None = None
    subscriberHash: str | None = None


class BulkBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    tags: list[str] | None = None
    data: str | None = None


class SeenBody(BulkBody):
    notificationIds: list[str] | None = None


class SnoozeBody(BaseModel):
    snoozeUntil: datetime


class ActionBody(BaseModel):
    actionType: Literal["primary", "secondary"]


@router.post("/session", status_code=201, response_model=Data[InboxSessionOut])
async def session(body: SessionBody, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    """Create (or update) the subscriber and hand the browser a token for it, as Novu's Session does."""
    subscriber_id = body.subscriberId or (body.subscriber.subscriberId if body.subscriber else None)
    if not subscriber_id:
        raise BadRequest("subscriberId is required")
    fields = body.subscriber.model_dump(exclude={"subscriberId"}) if body.subscriber else {}
    async with db.session() as s:
        env = await environment_by_identifier(session=s, identifier=body.applicationIdentifier)
        if env is None:
            raise BadRequest("Please provide a valid application identifier")
        integration = await active_integration(session=s, environment_id=env.id, provider_id="novu")
        if integration is None:
            raise NotFound("The active in-app integration could not be found")
        cipher = CredentialCipher(settings.resolved_secret_key())
        hmac_on = bool(cipher.decrypt(integration.credentials_encrypted).get("hmac"))
        if hmac_on and not await subscriber_hash_ok(
            session=s,
            cipher=cipher,
            environment_id=env.id,
            subscriber_id=subscriber_id,
            subscriber_hash_value=body.subscriberHash,
        ):
            raise BadRequest("Please provide a valid HMAC hash")
        sub = await get_subscriber(session=s, environment_id=env.id, subscriber_id=subscriber_id)
        # Without HMAC anyone may open a session for any subscriberId, so a browser may create a
        # subscriber but not rewrite an existing one's profile (its email, phone…).
        if sub is None or hmac_on:
            sub, _ = await upsert_subscriber(
                session=s, environment_id=env.id, subscriber_id=subscriber_id, fields=fields
            )
        unread = await count_notifications(session=s, environment_id=env.id, subscriber_id=sub.id, flt=UNREAD)
    return ok(
        {
            "token": issue_token(settings, environment=env, subscriber=sub),
            "totalUnreadCount": unread,
            "unreadCount": unread_counts(unread),
            "removeNovuBranding": True,
            "isDevelopmentMode": False,
            "maxSnoozeDurationHours": int(MAX_SNOOZE.total_seconds() // 3600),
            "applicationIdentifier": env.identifier,
        }
    )


def _data_filter(value: Any) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise BadRequest(["data must be a valid JSON object"]) from None
    if not isinstance(value, dict):
        raise BadRequest(["data must be a valid JSON object"])
    return value


def _tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise BadRequest(["tags must be an array of strings"])
    return tuple(value)


def _query_tags(request: Request) -> tuple[str, ...]:
    """``tags[]=a&tags[]=b`` (or ``tags=a``; ``tags[0][]=…`` groups are flattened): any of them."""
    found: list[str] = []
    for key, value in request.query_params.multi_items():
        if key == "tags" or key.startswith("tags["):
            found.append(value)
    return tuple(found)


def _filter_from(obj: dict[str, Any]) -> InboxFilter:
    bools: dict[str, bool | None] = {}
    for name in ("read", "seen", "archived", "snoozed"):
        value = obj.get(name)
        if value is not None and not isinstance(value, bool):
            raise BadRequest([f"{name} must be a boolean value"])
        bools[name] = value
    return InboxFilter(**bools, tags=_tags(obj.get("tags")), data=_data_filter(obj.get("data")))


async def _views(s: Any, inbox: InboxSession, rows: list[Message]) -> list[dict[str, Any]]:
    workflows = await workflows_for(session=s, messages=rows)
    return [inbox_notification_view(m, inbox.subscriber, workflows.get(m.workflow_id or "")) for m in rows]


@router.get("/notifications", response_model=InboxList)
async def notifications(
    request: Request,
    inbox: InboxDep,
    db: DbDep,
    limit: str | None = Query(None),
    offset: str | None = Query(None),
    after: str | None = Query(None),
    read: str | None = Query(None),
    archived: str | None = Query(None),
    snoozed: str | None = Query(None),
    seen: str | None = Query(None),
    data: str | None = Query(None),
) -> dict[str, Any]:
    flt = InboxFilter(
        read=query_bool("read", read),
        archived=query_bool("archived", archived),
        snoozed=query_bool("snoozed", snoozed),
        seen=query_bool("seen", seen),
        tags=_query_tags(request),
        data=_data_filter(data),
    )
    limit_n = query_int("limit", limit, default=10, minimum=1, maximum=100)
    offset_n = query_int("offset", offset, default=0, minimum=0)
    async with db.session() as s:
        rows, has_more = await list_notifications(
            session=s,
            environment_id=inbox.environment_id,
            subscriber_id=inbox.subscriber.id,
            flt=flt,
            limit=limit_n,
            offset=offset_n,
            after=after or None,
        )
        views = await _views(s, inbox, rows)
    return {"data": views, "hasMore": has_more, "filter": flt.view()}


@router.get("/notifications/count", response_model=CountsOut)
async def notifications_count(
    inbox: InboxDep, db: DbDep, filters: str | None = Query(None)
) -> dict[str, Any]:
    """``filters`` is a JSON array of filters; one count each, in order."""
    try:
        parsed = json.loads(filters) if filters else [{}]
    except ValueError:
        raise BadRequest(["filters must be a valid JSON array"]) from None
    if not isinstance(parsed, list) or not all(isinstance(f, dict) for f in parsed) or len(parsed) > 30:
        raise BadRequest(["filters must be an array of at most 30 filter objects"])
    wanted = [_filter_from(f) for f in parsed]
    async with db.session() as s:
        counts = [
            await count_notifications(
                session=s, environment_id=inbox.environment_id, subscriber_id=inbox.subscriber.id, flt=f
            )
            for f in wanted
        ]
    return {"data": [{"count": c, "filter": f.view()} for c, f in zip(counts, wanted, strict=True)]}


async def _change_one(
    inbox: InboxSession, db: DbDep, notification_id: str, change: str, **extra: Any
) -> dict[str, Any]:
    async with db.session() as s:
        found = await get_notification(
            session=s,
            environment_id=inbox.environment_id,
            subscriber_id=inbox.subscriber.id,
            message_id=notification_id,
        )
        if found is None:
            raise NotFound(f"Notification with id: {notification_id} is not found.")
        await change_notifications(
            session=s,
            environment_id=inbox.environment_id,
            subscriber_id=inbox.subscriber.id,
            change=change,
            message_ids=[notification_id],
            **extra,
        )
        row = await reload(session=s, message_id=notification_id)
        assert row is not None
        views = await _views(s, inbox, [row])
    return ok(views[0])


@router.patch("/notifications/{notification_id}/read", response_model=Data[InboxNotificationOut])
async def read_one(notification_id: str, inbox: InboxDep, db: DbDep) -> dict[str, Any]:
    return await _change_one(inbox, db, notification_id, "read")


@router.patch("/notifications/{notification_id}/unread", response_model=Data[InboxNotificationOut])
async def unread_one(notification_id: str, inbox: InboxDep, db: DbDep) -> dict[str, Any]:
    return await _change_one(inbox, db, notification_id, "unread")


@router.patch("/notifications/{notification_id}/archive", response_model=Data[InboxNotificationOut])
async def archive_one(notification_id: str, inbox: InboxDep, db: DbDep) -> dict[str, Any]:
    return await _change_one(inbox, db, notification_id, "archived")


@router.patch("/notifications/{notification_id}/unarchive", response_model=Data[InboxNotificationOut])
async def unarchive_one(notification_id: str, inbox: InboxDep, db: DbDep) -> dict[str, Any]:
    return await _change_one(inbox, db, notification_id, "unarchived")


@router.patch("/notifications/{notification_id}/snooze", response_model=Data[InboxNotificationOut])
async def snooze_one(notification_id: str, body: SnoozeBody, inbox: InboxDep, db: DbDep) -> dict[str, Any]:
    until = body.snoozeUntil if body.snoozeUntil.tzinfo else body.snoozeUntil.replace(tzinfo=utcnow().tzinfo)
    now = utcnow()
    if until <= now:
        raise BadRequest("Snooze time must be in the future")
    if until - now > MAX_SNOOZE:
        raise BadRequest(f"Snooze time cannot exceed {int(MAX_SNOOZE.total_seconds() // 3600)} hours")
    return await _change_one(inbox, db, notification_id, "snoozed", snooze_until=until)


@router.patch("/notifications/{notification_id}/unsnooze", response_model=Data[InboxNotificationOut])
async def unsnooze_one(notification_id: str, inbox: InboxDep, db: DbDep) -> dict[str, Any]:
    return await _change_one(inbox, db, notification_id, "unsnoozed")


async def _action(inbox: InboxSession, db: DbDep, notification_id: str, action_type: str, status: str) -> Any:
    async with db.session() as s:
        found = await get_notification(
            session=s,
            environment_id=inbox.environment_id,
            subscriber_id=inbox.subscriber.id,
            message_id=notification_id,
        )
        if found is None:
            raise NotFound(f"Notification with id: {notification_id} is not found.")
        buttons = ((found.cta or {}).get("action") or {}).get("buttons") or []
        if not any(b.get("type") == action_type for b in buttons):
            raise BadRequest(f"Could not find a {action_type} action for notification {notification_id}")
        row = await change_action(session=s, message=found, action_type=action_type, status=status)
        views = await _views(s, inbox, [row])
    return ok(views[0])


@router.patch("/notifications/{notification_id}/complete", response_model=Data[InboxNotificationOut])
async def complete(notification_id: str, body: ActionBody, inbox: InboxDep, db: DbDep) -> dict[str, Any]:
    return await _action(inbox, db, notification_id, body.actionType, "done")  # type: ignore[no-any-return]


@router.patch("/notifications/{notification_id}/revert", response_model=Data[InboxNotificationOut])
async def revert(notification_id: str, body: ActionBody, inbox: InboxDep, db: DbDep) -> dict[str, Any]:
    return await _action(inbox, db, notification_id, body.actionType, "pending")  # type: ignore[no-any-return]


@router.delete("/notifications/{notification_id}/delete", status_code=204)
async def delete_one(notification_id: str, inbox: InboxDep, db: DbDep) -> Response:
    await _change_one(inbox, db, notification_id, "deleted")
    return Response(status_code=204)


async def _change_all(
    inbox: InboxSession, db: DbDep, change: str, flt: InboxFilter, ids: list[str] | None = None
) -> Response:
    async with db.session() as s:
        await change_notifications(
            session=s,
            environment_id=inbox.environment_id,
            subscriber_id=inbox.subscriber.id,
            change=change,
            message_ids=ids,
            flt=flt,
        )
    return Response(status_code=204)


def _bulk_filter(body: BulkBody, **flags: bool) -> InboxFilter:
    return InboxFilter(**flags, tags=_tags(body.tags), data=_data_filter(body.data))


@router.post("/notifications/read", status_code=204)
async def read_all(body: BulkBody, inbox: InboxDep, db: DbDep) -> Response:
    return await _change_all(inbox, db, "read", _bulk_filter(body))


@router.post("/notifications/archive", status_code=204)
async def archive_all(body: BulkBody, inbox: InboxDep, db: DbDep) -> Response:
    return await _change_all(inbox, db, "archived", _bulk_filter(body))


@router.post("/notifications/read-archive", status_code=204)
async def archive_all_read(body: BulkBody, inbox: InboxDep, db: DbDep) -> Response:
    return await _change_all(inbox, db, "archived", _bulk_filter(body, read=True))


@router.post("/notifications/delete", status_code=204)
async def delete_all(body: BulkBody, inbox: InboxDep, db: DbDep) -> Response:
    return await _change_all(inbox, db, "deleted", _bulk_filter(body))


@router.post("/notifications/seen", status_code=204)
async def seen_many(body: SeenBody, inbox: InboxDep, db: DbDep) -> Response:
    """The given notifications, or every one matching ``tags``/``data``."""
    if body.notificationIds is not None and len(body.notificationIds) > 100:
        raise BadRequest(["notificationIds must contain no more than 100 elements"])
    return await _change_all(inbox, db, "seen", _bulk_filter(body), body.notificationIds)
