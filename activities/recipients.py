"""Resolving a trigger's ``to``: inline upserts, the actor, topic lookup, notification rows.

Topic members are not expanded here: :mod:`activities.audience` pages through them.
"""

from __future__ import annotations

import logging
from typing import Any

from temporalio import activity

from store.db import Database, utcnow
from store.ids import new_id, new_ids
from store.messages import add_details
from store.models import Notification
from store.subscribers import upsert_recipients
from store.topics import topics_for_keys
from workflows.details import DetailSource, DetailStatus, detail_row
from workflows.models import RESOLVE_RECIPIENTS, DeliveryContext, ResolveInput, ResolveResult
from workflows.step_json import step_type

log = logging.getLogger("tidings.recipients")

MISSING_SUBSCRIBER_ID = "subscriberId under property to is not configured, please make sure all subscribers contains subscriberId property"


def split_recipients(to: list[Any]) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Novu's ``to`` → (subscriber specs, topic keys, errors), de-duplicated by subscriberId in order."""
    subscribers: dict[str, dict[str, Any]] = {}
    topics: list[str] = []
    errors: list[str] = []
    for item in to:
        if isinstance(item, str | int | float) and not isinstance(item, bool):
            subscribers.setdefault(str(item), {"subscriberId": str(item)})
        elif isinstance(item, dict) and item.get("type") == "Topic":
            key = item.get("topicKey")
            if isinstance(key, str) and key not in topics:
                topics.append(key)
        elif (
            isinstance(item, dict)
            and isinstance(item.get("subscriberId"), str | int)
            and item["subscriberId"] != ""
        ):
            sid = str(item["subscriberId"])
            subscribers.setdefault(sid, {"subscriberId": sid}).update(
                {k: v for k, v in item.items() if v is not None}
            )
            subscribers[sid]["subscriberId"] = sid
        else:
            errors.append(MISSING_SUBSCRIBER_ID)
    return list(subscribers.values()), topics, errors


class RecipientActivities:
    def __init__(self, *, db: Database) -> None:
        self.db = db

    @activity.defn(name=RESOLVE_RECIPIENTS)
    async def resolve_recipients(self, request: ResolveInput) -> ResolveResult:
        """Upsert inline subscribers (and the actor), look the topics up, open notification rows."""
        ctx = request.context
        specs, topic_keys, errors = split_recipients(request.to)
        async with self.db.session() as session:
            topics = await topics_for_keys(
                session=session, environment_id=ctx.environment_id, keys=topic_keys
            )
            missing = [k for k in topic_keys if k not in topics]
            if missing:
                # Novu drops the whole event; the trigger already answered "processed", so say why here.
                message = f"Topic with key {','.join(missing)} not found in current environment"
                log.warning("transaction %s dropped: %s", ctx.transaction_id, message)
                await add_details(session=session, rows=[failure(ctx, message)])
                return ResolveResult(topic_keys=topic_keys, missing_topics=missing, errors=[message])
            actor_id: str | None = None
            actor = ctx.actor
            if actor and actor.get("subscriberId"):
                actor_rows = await upsert_recipients(
                    db=self.db, session=session, environment_id=ctx.environment_id, recipients=[actor]
                )
                actor_row = actor_rows.get(str(actor["subscriberId"]))
                actor_id = actor_row.id if actor_row else None
            rows = await upsert_recipients(
                db=self.db, session=session, environment_id=ctx.environment_id, recipients=specs
            )
            ids = [rows[s["subscriberId"]].id for s in specs if s["subscriberId"] in rows]
            await open_notifications(self.db, session, ctx, ids)
            if errors:
                await add_details(
                    session=session, rows=[failure(ctx, e, source=DetailSource.PAYLOAD) for e in errors]
                )
        return ResolveResult(
            subscriber_ids=ids,
            topic_keys=topic_keys,
            topic_ids=[topics[k].id for k in topic_keys],
            errors=errors,
            actor_id=actor_id,
        )


def failure(ctx: DeliveryContext, detail: str, *, source: str = DetailSource.INTERNAL) -> dict[str, Any]:
    """A transaction-level execution detail saying why (part of) the trigger was not delivered."""
    return detail_row(ctx, detail, status=DetailStatus.FAILED, source=source)


async def open_notifications(db: Database, session: Any, ctx: DeliveryContext, ids: list[str]) -> None:
    """One activity-feed row per (transaction, subscriber); idempotent.

    The row is built through the model once and copied per subscriber: constructing a SQLModel per
    row costs about a millisecond, which a 500-subscriber cohort would feel.
    """
    if not ids:
        return
    template = notification_template(ctx)
    rows = [
        {**template, "id": nid, "subscriber_id": sid} for nid, sid in zip(new_ids(len(ids)), ids, strict=True)
    ]
    await db.insert_ignore(
        session, Notification, rows, conflict=["environment_id", "transaction_id", "subscriber_id"]
    )


async def open_event_notifications(
    db: Database, session: Any, contexts: list[DeliveryContext], subscriber_id: str
) -> None:
    """One activity-feed row per transaction for one subscriber (the digest front door records a batch of
    its events at once); idempotent. Same workflow for all: one model build, as above."""
    if not contexts:
        return
    template = notification_template(contexts[0])
    rows = [
        {
            **template,
            "id": new_id(),
            "subscriber_id": subscriber_id,
            "transaction_id": c.transaction_id,
            "payload": c.payload,
        }
        for c in contexts
    ]
    await db.insert_ignore(
        session, Notification, rows, conflict=["environment_id", "transaction_id", "subscriber_id"]
    )


def notification_template(ctx: DeliveryContext) -> dict[str, Any]:
    channels = [step_type(s) for s in ctx.workflow.steps]
    return Notification(
        environment_id=ctx.environment_id,
        workflow_id=ctx.workflow.id,
        subscriber_id="",
        transaction_id=ctx.transaction_id,
        payload=ctx.payload,
        tags=ctx.workflow.tags,
        channels=[c for c in channels if c],
        created_at=utcnow(),
    ).model_dump()
