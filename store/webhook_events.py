"""The one way an event leaves for outbound webhooks: :func:`emit`.

``emit`` writes one outbox row per matching endpoint in the caller's transaction, so an event exists
exactly when the change that caused it was committed. The ids are left in ``session.info``; after the
commit :class:`store.db.Database` hands them to its ``after_commit`` hook, which starts the delivery
workflows (``tidings.webhooks``). Rows whose start was lost (a crash between commit and start) are
picked up by the worker's outbox relay. What each event's ``data`` holds is built by
``tidings.webhook_payloads``; this module stores it, wrapped in ``{type, timestamp, data}``.
"""

from __future__ import annotations

import time
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import iso, utcnow
from store.ids import new_id
from store.models import WebhookDelivery, WebhookEndpoint

MESSAGE_SENT = "message.sent"
MESSAGE_DELIVERED = "message.delivered"
MESSAGE_FAILED = "message.failed"
MESSAGE_SEEN = "message.seen"
MESSAGE_READ = "message.read"
MESSAGE_ARCHIVED = "message.archived"
WORKFLOW_COMPLETED = "workflow.completed"
WORKFLOW_CREATED = "workflow.created"
WORKFLOW_UPDATED = "workflow.updated"
WORKFLOW_DELETED = "workflow.deleted"
SUBSCRIBER_CREATED = "subscriber.created"
SUBSCRIBER_UPDATED = "subscriber.updated"
SUBSCRIBER_DELETED = "subscriber.deleted"
PREFERENCE_UPDATED = "preference.updated"

EVENT_TYPES = (
    MESSAGE_SENT,
    MESSAGE_DELIVERED,
    MESSAGE_FAILED,
    MESSAGE_SEEN,
    MESSAGE_READ,
    MESSAGE_ARCHIVED,
    WORKFLOW_COMPLETED,
    WORKFLOW_CREATED,
    WORKFLOW_UPDATED,
    WORKFLOW_DELETED,
    SUBSCRIBER_CREATED,
    SUBSCRIBER_UPDATED,
    SUBSCRIBER_DELETED,
    PREFERENCE_UPDATED,
)

#: ``session.info`` key holding the delivery ids written in this transaction.
OUTBOX = "webhook_deliveries"

#: Active endpoints per environment, cached briefly: most environments have none, and a trigger to
#: thousands of subscribers emits an event per message. A new or changed endpoint is seen by other
#: processes within this many seconds (at once in the process that changed it).
ENDPOINT_CACHE_SECONDS = 5.0
_endpoints: dict[str, tuple[float, list[tuple[str, list[str]]]]] = {}


def forget_endpoints(environment_id: str) -> None:
    """Drop the cached endpoints of an environment (after its endpoints changed)."""
    _endpoints.pop(environment_id, None)


async def _active_endpoints(session: AsyncSession, environment_id: str) -> list[tuple[str, list[str]]]:
    now = time.monotonic()
    hit = _endpoints.get(environment_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    stmt = select(WebhookEndpoint.id, WebhookEndpoint.events).where(
        WebhookEndpoint.environment_id == environment_id, col(WebhookEndpoint.active).is_(True)
    )
    rows = [(eid, list(events or [])) for eid, events in (await session.exec(stmt)).all()]
    _endpoints[environment_id] = (now + ENDPOINT_CACHE_SECONDS, rows)
    return rows


async def emit(session: AsyncSession, *, environment_id: str, event: str, data: dict[str, Any]) -> list[str]:
    """Queue ``event`` for every active endpoint of the environment subscribed to it.

    Returns the delivery ids (the ``webhook-id`` each endpoint will see). Nothing is sent before the
    caller's transaction commits.
    """
    return await emit_many(session, environment_id=environment_id, events=[(event, data)])


async def emit_many(
    session: AsyncSession, *, environment_id: str, events: list[tuple[str, dict[str, Any]]]
) -> list[str]:
    """:func:`emit` for several events of one environment with one endpoint look-up and one insert."""
    if not events:
        return []
    endpoints = await _active_endpoints(session, environment_id)
    if not endpoints:
        return []
    stamp = iso(utcnow())
    rows: list[WebhookDelivery] = []
    for event, data in events:
        body = {"type": event, "timestamp": stamp, "data": data}
        for endpoint_id, wanted in endpoints:
            if wanted and event not in wanted:
                continue
            rows.append(
                WebhookDelivery(
                    id=new_id(),
                    environment_id=environment_id,
                    endpoint_id=endpoint_id,
                    event_type=event,
                    body=body,
                )
            )
    if not rows:
        return []
    session.add_all(rows)
    await session.flush()
    ids = [r.id for r in rows]
    session.info.setdefault(OUTBOX, []).extend(ids)
    return ids
