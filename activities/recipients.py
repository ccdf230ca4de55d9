"""Resolving a trigger's ``to`` into subscribers: inline upserts, the actor, notification rows."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from store.db import Database, utcnow
from store.messages import add_details, record_notifications
from store.subscribers import upsert_recipients
from workflows.models import RESOLVE_RECIPIENTS, DeliveryContext, ResolveInput, ResolveResult

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
        """Upsert inline subscribers (and the actor) and open a notification row for each recipient."""
        ctx = request.context
        specs, topics, errors = split_recipients(request.to)
        async with self.db.session() as session:
            actor = ctx.actor
            if actor and actor.get("subscriberId"):
                await upsert_recipients(
                    db=self.db, session=session, environment_id=ctx.environment_id, recipients=[actor]
                )
            rows = await upsert_recipients(
                db=self.db, session=session, environment_id=ctx.environment_id, recipients=specs
            )
            ids = [rows[s["subscriberId"]].id for s in specs if s["subscriberId"] in rows]
            await self.open_notifications(session, ctx, ids)
            if errors:
                await add_details(
                    session=session,
                    rows=[
                        {
                            "environment_id": ctx.environment_id,
                            "transaction_id": ctx.transaction_id,
                            "detail": e,
                            "status": "Failed",
                            "source": "Payload",
                        }
                        for e in errors
                    ],
                )
        return ResolveResult(subscriber_ids=ids, topic_keys=topics, errors=errors)

    async def open_notifications(self, session: Any, ctx: DeliveryContext, ids: list[str]) -> None:
        channels = [(s.get("template") or {}).get("type") for s in ctx.workflow.steps]
        now = utcnow()
        await record_notifications(
            db=self.db,
            session=session,
            rows=[
                {
                    "environment_id": ctx.environment_id,
                    "workflow_id": ctx.workflow.id,
                    "subscriber_id": sid,
                    "transaction_id": ctx.transaction_id,
                    "payload": ctx.payload,
                    "tags": ctx.workflow.tags,
                    "channels": [c for c in channels if c],
                    "created_at": now,
                }
                for sid in ids
            ],
        )
