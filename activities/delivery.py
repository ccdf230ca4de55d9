"""Delivering one channel step to a cohort: conditions, preferences, variants, rendering, then the sender.

Everything is done for the whole cohort with bulk reads; conditions and variants are decided per subscriber,
and a subscriber whose template fails is recorded as failed without affecting the others.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.conditions import SubscriberFacts, evaluate_filters, previous_step_ids
from activities.preferences import filter_by_preferences
from activities.render import Renderer, RenderError, template_context
from activities.senders.base import Batch, Rendered, Sender
from store.db import Database
from store.messages import add_details
from store.models import Message, Notification, Subscriber
from store.subscribers import load_subscribers
from store.views import subscriber_view
from store.webhook_events import WORKFLOW_COMPLETED, emit
from workflows.interpreter import spec_from_novu
from workflows.models import (
    CHECK_CONDITIONS,
    DELIVER_STEP,
    RECORD_DETAILS,
    ConditionsInput,
    ConditionsResult,
    DeliverInput,
    DeliverResult,
    DeliveryContext,
    RecordDetailsInput,
    StepSpec,
)

log = logging.getLogger("tidings.delivery")

FILTERED = "Step was filtered based on steps filters"
VARIANT_CHOSEN = "Variant was chosen by the provided condition criteria"
CONTENT_FAILED = "Message content could not be generated"
TEMPLATE_FIELDS = ("content", "subject", "title", "preheader", "sender_name", "cta", "actor", "feed_id")


def blocks_html(blocks: list[Any]) -> str:
    """Novu's email editor blocks → HTML (text paragraphs and buttons)."""
    parts = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        content = str(block.get("content") or "")
        align = (block.get("styles") or {}).get("textAlign")
        style = f' style="text-align:{html.escape(str(align))}"' if align else ""
        if block.get("type") == "button":
            url = html.escape(str(block.get("url") or "#"), quote=True)
            parts.append(f'<p{style}><a href="{url}">{content}</a></p>')
        else:
            parts.append(f"<p{style}>{content}</p>")
    return "".join(parts)


def with_variant(step: StepSpec, variant: dict[str, Any]) -> StepSpec:
    """The step with the chosen variant's template in place of its own."""
    chosen = spec_from_novu(
        {**variant, "template": {"type": step.type, **(variant.get("template") or {})}}, 0
    )
    changes = {name: getattr(chosen, name) for name in TEMPLATE_FIELDS if getattr(chosen, name) is not None}
    return step.model_copy(update=changes)


def subscriber_facts(
    ctx: DeliveryContext,
    sub: Subscriber,
    view: dict[str, Any],
    actor: dict[str, Any] | None,
    step_messages: dict[str, dict[str, bool]],
) -> SubscriberFacts:
    return SubscriberFacts(
        variables={"payload": ctx.payload, "subscriber": view, "tenant": ctx.tenant, "actor": actor},
        is_online=sub.is_online,
        last_online_at=sub.last_online_at,
        step_messages=step_messages,
    )


def log_failures(
    ctx: DeliveryContext, step: StepSpec, subscribers: dict[str, Subscriber], details: list[dict[str, Any]]
) -> None:
    """One console line per subscriber whose step failed, with the reason (its last failure detail)."""
    last = {d["subscriber_id"]: d for d in details if d["status"] == "Failed"}
    for d in last.values():
        sub = subscribers.get(d["subscriber_id"] or "")
        who = sub.subscriber_id if sub is not None else d["subscriber_id"]
        raw = d.get("raw") if isinstance(d.get("raw"), dict) else {}
        reason = d["detail"] + (f": {raw['error']}" if raw and raw.get("error") else "")
        log.warning(
            "step failed: %s/%s (%s) for %s: %s (transactionId %s)",
            ctx.workflow.identifier,
            step.step_id,
            step.type,
            who,
            reason,
            ctx.transaction_id,
            extra={
                "fields": {
                    "event": "step_failed",
                    "workflow": ctx.workflow.identifier,
                    "stepId": step.step_id,
                    "channel": step.type,
                    "subscriberId": who,
                    "reason": reason,
                    "transactionId": ctx.transaction_id,
                }
            },
        )


class DeliveryActivities:
    """Built once per worker with its dependencies; ``worker.py`` registers the bound methods."""

    def __init__(self, *, db: Database, senders: dict[str, Sender], renderer: Renderer | None = None) -> None:
        self.db = db
        self.senders = senders
        self.renderer = renderer or Renderer()

    @activity.defn(name=DELIVER_STEP)
    async def deliver_step(self, request: DeliverInput) -> DeliverResult:
        """Deliver one channel step to a cohort: conditions, preferences, variants, rendering, provider."""
        ctx, step = request.context, request.step
        result = DeliverResult()
        details: list[dict[str, Any]] = []

        def detail(
            sid: str | None,
            text: str,
            status: str = "Success",
            source: str = "Internal",
            raw: Any = None,
            message_id: str | None = None,
        ) -> None:
            details.append(
                {
                    "environment_id": ctx.environment_id,
                    "transaction_id": ctx.transaction_id,
                    "workflow_id": ctx.workflow.id,
                    "subscriber_id": sid,
                    "step_id": step.step_id,
                    "channel": step.type,
                    "detail": text,
                    "status": status,
                    "source": source,
                    "raw": raw,
                    "message_id": message_id,
                }
            )

        async with self.db.session() as session:
            subscribers = await load_subscribers(session=session, ids=request.subscriber_ids)
            blocked = await filter_by_preferences(
                session=session,
                subscriber_ids=list(subscribers),
                workflow_id=ctx.workflow.id,
                channel=step.type,
                critical=ctx.workflow.critical,
                template_settings=ctx.workflow.preference_settings,
                override_settings=ctx.override_preferences,
            )
            notifications = await self.notification_ids(session, ctx, list(subscribers))
            step_messages = await self.step_states(session, ctx, step, list(subscribers))
            actor = await self.actor_view(session, ctx)
        rendered: list[Rendered] = []
        for sid in request.subscriber_ids:
            sub = subscribers.get(sid)
            if sub is None:
                continue
            view = subscriber_view(sub)
            facts = subscriber_facts(ctx, sub, view, actor, step_messages.get(sid, {}))
            outcome = evaluate_filters(step.filters, facts)
            if not outcome.passed:
                result.filtered.append(sid)
                detail(sid, FILTERED, raw={"filter": {"conditions": outcome.conditions, "passed": False}})
                continue
            if sid in blocked:
                result.filtered.append(sid)
                detail(sid, blocked[sid], raw={"preferences": {"passed": False}})
                continue
            chosen = step
            for index, variant in enumerate(step.variants):
                if variant.get("active") is False or not variant.get("filters"):
                    continue
                if evaluate_filters(variant["filters"], facts).passed:
                    chosen = with_variant(step, variant)
                    detail(
                        sid,
                        VARIANT_CHOSEN,
                        raw={"variant": variant.get("_id") or variant.get("name") or index},
                    )
                    break
            try:
                rendered.append(self.render(chosen, ctx, sub, view, actor, request))
            except RenderError as exc:
                result.failed.append(sid)
                detail(sid, CONTENT_FAILED, "Failed", "Payload", raw={"error": str(exc)})

        sender = self.senders.get(step.type) or Sender()
        await sender.deliver(Batch(self.db, ctx, request, rendered, notifications, result, detail))
        log_failures(ctx, step, subscribers, details)
        async with self.db.session() as session:
            await add_details(session=session, rows=details)
        return result

    def render(
        self,
        step: StepSpec,
        ctx: DeliveryContext,
        sub: Subscriber,
        subscriber: dict[str, Any],
        actor: dict[str, Any] | None,
        request: DeliverInput,
    ) -> Rendered:
        context = template_context(
            payload=ctx.payload,
            subscriber=subscriber,
            actor=actor,
            tenant=ctx.tenant,
            digest=request.digest,
            results=request.results,
        )
        escape = step.type in ("in_app", "email")
        render = self.renderer.render_value
        content = step.content or ""
        if isinstance(content, list):
            content = blocks_html(render(content, context, escape=escape))
        else:
            content = render(content, context, escape=escape)
        return Rendered(
            subscriber=sub,
            content=content,
            subject=render(step.subject, context, escape=False) if step.subject else None,
            title=render(step.title, context, escape=False) if step.title else None,
            extra={
                "cta": render(step.cta, context, escape=False) if step.cta else None,
                "avatar": render(step.avatar, context, escape=False) if step.avatar else None,
                "data": render(step.data, context, escape=False) if step.data else None,
                "preheader": render(step.preheader, context, escape=False) if step.preheader else None,
                "sender_name": render(step.sender_name, context, escape=False) if step.sender_name else None,
            },
        )

    async def notification_ids(self, session: Any, ctx: DeliveryContext, ids: list[str]) -> dict[str, str]:
        if not ids:
            return {}
        stmt = select(Notification.subscriber_id, Notification.id).where(
            Notification.environment_id == ctx.environment_id,
            Notification.transaction_id == ctx.transaction_id,
            col(Notification.subscriber_id).in_(ids),
        )
        return {s: n for s, n in (await session.exec(stmt)).all()}

    async def step_states(
        self, session: AsyncSession, ctx: DeliveryContext, step: StepSpec, ids: list[str]
    ) -> dict[str, dict[str, dict[str, bool]]]:
        """subscriber → earlier step id → {read, seen} of its message, for ``previousStep`` conditions."""
        refs = previous_step_ids(step)
        if not refs or not ids:
            return {}
        stmt = select(Message.subscriber_id, Message.step_id, Message.read, Message.seen).where(
            Message.environment_id == ctx.environment_id,
            Message.transaction_id == ctx.transaction_id,
            col(Message.step_id).in_(refs),
            col(Message.subscriber_id).in_(ids),
        )
        states: dict[str, dict[str, dict[str, bool]]] = {}
        for sid, step_id, read, seen in (await session.exec(stmt)).all():
            states.setdefault(sid, {})[step_id] = {"read": bool(read), "seen": bool(seen)}
        return states

    async def actor_view(self, session: AsyncSession, ctx: DeliveryContext) -> dict[str, Any] | None:
        """The actor as a subscriber entity (what ``{{actor.firstName}}`` and ``on: actor`` read)."""
        if not ctx.actor:
            return None
        actor_id = ctx.actor.get("subscriberId")
        row = None
        if actor_id is not None:
            stmt = select(Subscriber).where(
                Subscriber.environment_id == ctx.environment_id,
                Subscriber.subscriber_id == str(actor_id),
                col(Subscriber.deleted).is_(False),
            )
            row = (await session.exec(stmt)).first()
        return {**ctx.actor, **subscriber_view(row)} if row is not None else dict(ctx.actor)

    @activity.defn(name=CHECK_CONDITIONS)
    async def check_conditions(self, request: ConditionsInput) -> ConditionsResult:
        """Evaluate an action step's conditions for a cohort; the filtered are recorded as such."""
        ctx, step = request.context, request.step
        result = ConditionsResult()
        rows: list[dict[str, Any]] = []
        async with self.db.session() as session:
            subscribers = await load_subscribers(session=session, ids=request.subscriber_ids)
            step_messages = await self.step_states(session, ctx, step, list(subscribers))
            actor = await self.actor_view(session, ctx)
            for sid in request.subscriber_ids:
                sub = subscribers.get(sid)
                if sub is None:
                    continue
                facts = subscriber_facts(ctx, sub, subscriber_view(sub), actor, step_messages.get(sid, {}))
                outcome = evaluate_filters(step.filters, facts)
                if outcome.passed:
                    result.passed.append(sid)
                    continue
                result.filtered.append(sid)
                rows.append(
                    {
                        "environment_id": ctx.environment_id,
                        "transaction_id": ctx.transaction_id,
                        "workflow_id": ctx.workflow.id,
                        "subscriber_id": sid,
                        "step_id": step.step_id,
                        "channel": step.type,
                        "detail": FILTERED,
                        "raw": {"filter": {"conditions": outcome.conditions, "passed": False}},
                    }
                )
            await add_details(session=session, rows=rows)
        return result

    @activity.defn(name=RECORD_DETAILS)
    async def record_details(self, request: RecordDetailsInput) -> None:
        async with self.db.session() as session:
            await add_details(session=session, rows=[d.model_dump() for d in request.details])
            if request.completed is not None:
                done = request.completed
                counts = {"sent": 0, "failed": 0, "filtered": 0}
                for step_counts in done.steps.values():
                    for key in counts:
                        counts[key] += step_counts.get(key, 0)
                data = {
                    "transactionId": done.transaction_id,
                    "workflowId": done.workflow,
                    "status": done.status,
                    "subscribers": done.subscribers,
                    "counts": counts,
                    "steps": done.steps,
                    "resumed": done.resumed,
                }
                await emit(session, environment_id=done.environment_id, event=WORKFLOW_COMPLETED, data=data)
