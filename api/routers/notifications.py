"""``/v1/notifications``: the activity feed — one entry per (transaction, subscriber) with its jobs."""

from __future__ import annotations

from typing import Any

from fastapi import Query

from api.activity_views import graph_view, notification_view, stats_view
from api.deps import CurrentEnv, DbDep, SettingsDep
from api.errors import NotFound
from api.responses import GraphDayOut, NotificationOut, StatsOut
from api.wire import Data, Page, WireRouter, ok, query_int
from store.activity import (
    details_for_notifications,
    get_notification,
    internal_subscriber_ids,
    list_notifications,
    subscriber_ids_by_email,
    subscribers_by_id,
    workflows_by_id,
)
from store.db import utcnow
from store.models import Notification
from store.stats import daily_graph, sent_counts
from tidings.settings import Settings

router = WireRouter(prefix="/v1/notifications", tags=["notifications"])

PAGE_SIZE = 10


async def render(
    db: DbDep, env: CurrentEnv, rows: list[Notification], session: Any, settings: Settings | None = None
) -> list[dict[str, Any]]:
    subs = await subscribers_by_id(session=session, ids=list({n.subscriber_id for n in rows}))
    templates = await workflows_by_id(
        session=session, ids=list({n.workflow_id for n in rows if n.workflow_id})
    )
    details = await details_for_notifications(session=session, environment_id=env.id, notifications=rows)
    return [
        notification_view(
            n,
            env.organization_id,
            subs.get(n.subscriber_id),
            templates.get(n.workflow_id or ""),
            [
                d
                for d in details
                if d.transaction_id == n.transaction_id and d.subscriber_id == n.subscriber_id
            ],
            settings,
        )
        for n in rows
    ]


@router.get("", response_model=Page[NotificationOut])
async def list_(
    env: CurrentEnv,
    db: DbDep,
    settings: SettingsDep,
    page: str | None = None,
    channels: list[str] | None = Query(None),
    templates: list[str] | None = Query(None),
    emails: list[str] | None = Query(None),
    subscriber_ids: list[str] | None = Query(None, alias="subscriberIds"),
    transaction_id: str | None = Query(None, alias="transactionId"),
) -> dict[str, Any]:
    page_no = query_int("page", page, default=0, minimum=0)
    empty = {"page": 0, "hasMore": False, "pageSize": PAGE_SIZE, "data": []}
    async with db.session() as session:
        wanted: list[str] | None = None
        if subscriber_ids or emails:
            wanted = []
            if subscriber_ids:
                wanted += await internal_subscriber_ids(
                    session=session, environment_id=env.id, external_ids=subscriber_ids
                )
            if emails:
                wanted += await subscriber_ids_by_email(session=session, environment_id=env.id, emails=emails)
            if not wanted:
                return empty
        rows = await list_notifications(
            session=session,
            environment_id=env.id,
            page=page_no,
            page_size=PAGE_SIZE,
            channels=channels,
            workflow_ids=templates,
            subscriber_ids=wanted,
            transaction_id=transaction_id,
        )
        data = await render(db, env, rows, session, settings)
    return {"page": page_no, "hasMore": len(data) == PAGE_SIZE, "pageSize": PAGE_SIZE, "data": data}


@router.get("/stats", response_model=Data[StatsOut])
async def stats(env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        return ok(stats_view(await sent_counts(session=session, environment_id=env.id, now=utcnow())))


@router.get("/graph/stats", response_model=Data[list[GraphDayOut]])
async def graph_stats(env: CurrentEnv, db: DbDep, days: str | None = None) -> dict[str, Any]:
    span = query_int("days", days, default=32, minimum=1, maximum=366)
    async with db.session() as session:
        return ok(
            graph_view(await daily_graph(session=session, environment_id=env.id, now=utcnow(), days=span))
        )


@router.get("/{notification_id}", response_model=Data[NotificationOut])
async def read(notification_id: str, env: CurrentEnv, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    async with db.session() as session:
        row = await get_notification(session=session, environment_id=env.id, notification_id=notification_id)
        if row is None:
            raise NotFound(f"Notification with id {notification_id} not found")
        data = await render(db, env, [row], session, settings)
    return ok(data[0])
