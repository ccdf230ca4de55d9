"""``/v2/subscribers/{id}/notifications``: list, count, read/unread/archive/unarchive/seen/delete, bulk.

The same in-app rows as the v1 feed and the Inbox, answered as the same document
(``api.inbox_views.inbox_notification_view``); snooze and action completion are the Inbox's changes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Query, Response
from pydantic import BaseModel, ConfigDict
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import CurrentEnv, DbDep
from api.errors import BadRequest, NotFound
from api.inbox_views import inbox_notification_view
from api.responses_v2 import FilterCount, InboxList, InboxNotificationOut
from api.wire import Data, WireRouter, ok, query_bool, query_int
from store.db import utcnow
from store.inbox import change_action, change_notifications, reload, workflows_for
from store.models import Message, Subscriber
from store.subscriber_notifications import (
    NotificationFilter,
    UnknownCursor,
    change_all,
    change_one,
    count_notifications,
    get_notification,
    list_notifications,
)
from store.subscribers import get_subscriber
from store.tenancy import EnvironmentRef

router = WireRouter(prefix="/v2/subscribers/{subscriber_id}/notifications", tags=["notifications v2"])

SEVERITIES = ("high", "medium", "low", "none")
MAX_SNOOZE = timedelta(days=90)


class BulkBody(BaseModel):
    """Novu's ``UpdateAllSubscriberNotificationsDto`` (``tags`` as a list: any of them)."""

    model_config = ConfigDict(extra="ignore")
    tags: list[str] | None = None
    data: str | None = None


class SeenBody(BulkBody):
    notificationIds: list[str] | None = None


def parse_data(value: str | None) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        raise BadRequest(["data must be a JSON object string"]) from None
    if not isinstance(parsed, dict):
        raise BadRequest(["data must be a JSON object string"])
    return parsed


def parse_filter(raw: dict[str, Any]) -> NotificationFilter:
    """A filter from query values or one element of the ``filters`` JSON of ``/count``."""
    severity = raw.get("severity")
    if isinstance(severity, str):
        severity = [severity]
    if severity is not None and (
        not isinstance(severity, list) or any(s not in SEVERITIES for s in severity)
    ):
        raise BadRequest([f"severity must be one of the following values: {', '.join(SEVERITIES)}"])
    tags = raw.get("tags")
    if isinstance(tags, str):
        tags = [tags]
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        raise BadRequest(["tags must be an array of strings"])
    data = raw.get("data")
    if isinstance(data, str):
        data = parse_data(data)
    flt = NotificationFilter(tags=tags or None, data=data or None, severity=severity)
    for name in ("read", "seen", "archived", "snoozed"):
        value = raw.get(name)
        setattr(flt, name, query_bool(name, value) if isinstance(value, str) else value)
    for name, attr in (("createdGte", "created_gte"), ("createdLte", "created_lte")):
        if raw.get(name) not in (None, ""):
            # Epoch milliseconds, up to the year 5138.
            setattr(flt, attr, query_int(name, raw[name], default=0, minimum=0, maximum=10**14))
    return flt


async def require_subscriber(session: AsyncSession, env: EnvironmentRef, subscriber_id: str) -> Subscriber:
    sub = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
    if sub is None:
        raise NotFound(f"Subscriber with id: {subscriber_id} not found")
    return sub


async def views_of(session: AsyncSession, sub: Subscriber, rows: list[Message]) -> list[dict[str, Any]]:
    workflows = await workflows_for(session=session, messages=rows)
    return [inbox_notification_view(m, sub, workflows.get(m.workflow_id or "")) for m in rows]


@router.get("", response_model=InboxList)
async def list_(
    subscriber_id: str,
    env: CurrentEnv,
    db: DbDep,
    limit: str | None = Query(None),
    after: str | None = Query(None),
    offset: str | None = Query(None),
    read: str | None = Query(None),
    seen: str | None = Query(None),
    archived: str | None = Query(None),
    snoozed: str | None = Query(None),
    data: str | None = Query(None),
    tags: list[str] | None = Query(None),
    severity: list[str] | None = Query(None),
    createdGte: str | None = Query(None),
    createdLte: str | None = Query(None),
) -> dict[str, Any]:
    size = query_int("limit", limit, default=10, minimum=1, maximum=100)
    skip = query_int("offset", offset, default=0, minimum=0)
    raw = {
        "read": read,
        "seen": seen,
        "archived": archived,
        "snoozed": snoozed,
        "data": data,
        "tags": tags,
        "severity": severity,
        "createdGte": createdGte,
        "createdLte": createdLte,
    }
    flt = parse_filter(raw)
    async with db.session() as session:
        sub = await require_subscriber(session, env, subscriber_id)
        try:
            rows, more = await list_notifications(
                session=session,
                environment_id=env.id,
                subscriber_id=sub.id,
                flt=flt,
                limit=size,
                after=after or None,
                offset=skip,
            )
        except UnknownCursor as exc:
            raise BadRequest(f"Invalid cursor: {exc}") from exc
        views = await views_of(session, sub, rows)
    echo = {k: v for k, v in raw.items() if v not in (None, "", [])}
    return {"data": views, "hasMore": more, "filter": echo}


@router.get("/count", response_model=Data[list[FilterCount]])
async def count(
    subscriber_id: str, env: CurrentEnv, db: DbDep, filters: str | None = Query(None)
) -> dict[str, Any]:
    """``filters`` is a JSON array of filters; the answer has one count per filter."""
    try:
        parsed = json.loads(filters) if filters else [{}]
    except ValueError:
        raise BadRequest(["filters must be a JSON array of filter objects"]) from None
    if isinstance(parsed, dict):
        parsed = [parsed]
    if not isinstance(parsed, list) or not all(isinstance(f, dict) for f in parsed) or len(parsed) > 30:
        raise BadRequest(["filters must be a JSON array of at most 30 filter objects"])
    wanted = [parse_filter(f) for f in parsed]
    async with db.session() as session:
        sub = await require_subscriber(session, env, subscriber_id)
        counts = [
            await count_notifications(session=session, environment_id=env.id, subscriber_id=sub.id, flt=f)
            for f in wanted
        ]
    return ok([{"count": n, "filter": f} for n, f in zip(counts, parsed, strict=True)])


async def _change(
    subscriber_id: str, notification_id: str, action: str, env: EnvironmentRef, db: DbDep
) -> dict[str, Any]:
    async with db.session() as session:
        sub = await require_subscriber(session, env, subscriber_id)
        msg = await get_notification(
            session=session, environment_id=env.id, subscriber_id=sub.id, notification_id=notification_id
        )
        if msg is None:
            raise NotFound(f"Notification with id: {notification_id} not found")
        msg = await change_one(session=session, message=msg, action=action)
        (view,) = await views_of(session, sub, [msg])
    return view


@router.patch("/{notification_id}/read", response_model=Data[InboxNotificationOut])
async def mark_read(subscriber_id: str, notification_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    return ok(await _change(subscriber_id, notification_id, "read", env, db))


@router.patch("/{notification_id}/unread", response_model=Data[InboxNotificationOut])
async def mark_unread(subscriber_id: str, notification_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    return ok(await _change(subscriber_id, notification_id, "unread", env, db))


@router.patch("/{notification_id}/archive", response_model=Data[InboxNotificationOut])
async def archive(subscriber_id: str, notification_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    return ok(await _change(subscriber_id, notification_id, "archive", env, db))


@router.patch("/{notification_id}/unarchive", response_model=Data[InboxNotificationOut])
async def unarchive(subscriber_id: str, notification_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    return ok(await _change(subscriber_id, notification_id, "unarchive", env, db))


@router.delete("/{notification_id}", status_code=204)
async def delete(subscriber_id: str, notification_id: str, env: CurrentEnv, db: DbDep) -> Response:
    await _change(subscriber_id, notification_id, "delete", env, db)
    return Response(status_code=204)


async def _bulk(
    subscriber_id: str,
    body: BulkBody,
    env: EnvironmentRef,
    db: DbDep,
    action: str,
    *,
    ids: list[str] | None = None,
    **where: Any,
) -> Response:
    flt = parse_filter({"tags": body.tags, "data": body.data, **where})
    async with db.session() as session:
        sub = await require_subscriber(session, env, subscriber_id)
        await change_all(
            session=session, environment_id=env.id, subscriber_id=sub.id, flt=flt, action=action, ids=ids
        )
    return Response(status_code=204)


@router.post("/seen", status_code=204)
async def mark_seen(subscriber_id: str, body: SeenBody, env: CurrentEnv, db: DbDep) -> Response:
    """The given notifications, or every matching one when no ids are given."""
    if body.notificationIds is not None and len(body.notificationIds) > 100:
        raise BadRequest(["notificationIds must contain no more than 100 elements"])
    return await _bulk(subscriber_id, body, env, db, "seen", ids=body.notificationIds, seen=False)


@router.post("/read", status_code=204)
async def mark_all_read(subscriber_id: str, body: BulkBody, env: CurrentEnv, db: DbDep) -> Response:
    return await _bulk(subscriber_id, body, env, db, "read", read=False)


@router.post("/archive", status_code=204)
async def archive_all(subscriber_id: str, body: BulkBody, env: CurrentEnv, db: DbDep) -> Response:
    return await _bulk(subscriber_id, body, env, db, "archive", archived=False)


@router.post("/read-archive", status_code=204)
async def archive_all_read(subscriber_id: str, body: BulkBody, env: CurrentEnv, db: DbDep) -> Response:
    return await _bulk(subscriber_id, body, env, db, "archive", archived=False, read=True)


@router.post("/delete", status_code=204)
async def delete_all(subscriber_id: str, body: BulkBody, env: CurrentEnv, db: DbDep) -> Response:
    return await _bulk(subscriber_id, body, env, db, "delete")


class SnoozeBody(BaseModel):
    """Novu's ``SnoozeNotificationDto``."""

    snoozeUntil: datetime


async def _inbox_change(
    subscriber_id: str,
    notification_id: str,
    env: EnvironmentRef,
    db: DbDep,
    change: Any,
) -> dict[str, Any]:
    async with db.session() as session:
        sub = await require_subscriber(session, env, subscriber_id)
        msg = await get_notification(
            session=session, environment_id=env.id, subscriber_id=sub.id, notification_id=notification_id
        )
        if msg is None:
            raise NotFound(f"Notification with id: {notification_id} not found")
        await change(session, sub, msg)
        fresh = await reload(session=session, message_id=msg.id)
        assert fresh is not None
        (view,) = await views_of(session, sub, [fresh])
    return view


@router.patch("/{notification_id}/snooze", response_model=Data[InboxNotificationOut])
async def snooze(
    subscriber_id: str, notification_id: str, body: SnoozeBody, env: CurrentEnv, db: DbDep
) -> dict[str, Any]:
    until = body.snoozeUntil if body.snoozeUntil.tzinfo else body.snoozeUntil.replace(tzinfo=UTC)
    now = utcnow()
    if until <= now:
        raise BadRequest(["snoozeUntil must be in the future"])
    if until - now > MAX_SNOOZE:
        raise BadRequest([f"snoozeUntil cannot be more than {MAX_SNOOZE.days} days ahead"])

    async def change(session: AsyncSession, sub: Subscriber, msg: Message) -> None:
        await change_notifications(
            session=session,
            environment_id=env.id,
            subscriber_id=sub.id,
            change="snoozed",
            message_ids=[msg.id],
            snooze_until=until,
        )

    return ok(await _inbox_change(subscriber_id, notification_id, env, db, change))


@router.patch("/{notification_id}/unsnooze", response_model=Data[InboxNotificationOut])
async def unsnooze(subscriber_id: str, notification_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async def change(session: AsyncSession, sub: Subscriber, msg: Message) -> None:
        await change_notifications(
            session=session,
            environment_id=env.id,
            subscriber_id=sub.id,
            change="unsnoozed",
            message_ids=[msg.id],
        )

    return ok(await _inbox_change(subscriber_id, notification_id, env, db, change))


async def _action(
    subscriber_id: str, notification_id: str, action_type: str, status: str, env: EnvironmentRef, db: DbDep
) -> dict[str, Any]:
    if action_type not in ("primary", "secondary"):
        raise BadRequest(["actionType must be one of the following values: primary, secondary"])

    async def change(session: AsyncSession, sub: Subscriber, msg: Message) -> None:
        await change_action(session=session, message=msg, action_type=action_type, status=status)

    return ok(await _inbox_change(subscriber_id, notification_id, env, db, change))


@router.patch("/{notification_id}/actions/{action_type}/complete", response_model=Data[InboxNotificationOut])
async def complete_action(
    subscriber_id: str, notification_id: str, action_type: str, env: CurrentEnv, db: DbDep
) -> dict[str, Any]:
    return await _action(subscriber_id, notification_id, action_type, "done", env, db)


@router.patch("/{notification_id}/actions/{action_type}/revert", response_model=Data[InboxNotificationOut])
async def revert_action(
    subscriber_id: str, notification_id: str, action_type: str, env: CurrentEnv, db: DbDep
) -> dict[str, Any]:
    return await _action(subscriber_id, notification_id, action_type, "pending", env, db)
