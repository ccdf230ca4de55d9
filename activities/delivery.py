"""Delivering one channel step to a cohort: preferences, rendering, then the channel's sender."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from temporalio import activity

from activities.preferences import filter_by_preferences
from activities.render import Renderer, RenderError, template_context
from activities.senders.base import Batch, Rendered, Sender
from store.db import Database
from store.messages import add_details
from store.models import Notification, Subscriber
from store.subscribers import load_subscribers
from store.views import subscriber_view
from workflows.models import (
    DELIVER_STEP,
    RECORD_DETAILS,
    DeliverInput,
    DeliverResult,
    DeliveryContext,
    RecordDetailsInput,
    StepSpec,
)


class DeliveryActivities:
    """Built once per worker with its dependencies; ``worker.py`` registers the bound methods."""

    def __init__(self, *, db: Database, senders: dict[str, Sender], renderer: Renderer | None = None) -> None:
        self.db = db
        self.senders = senders
        self.renderer = renderer or Renderer()

    @activity.defn(name=DELIVER_STEP)
    async def deliver_step(self, request: DeliverInput) -> DeliverResult:
        """Deliver one channel step to a cohort: preferences, rendering, provider, message rows, details."""
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
            )
            notifications = await self.notification_ids(session, ctx, list(subscribers))
        rendered: list[Rendered] = []
        for sid in request.subscriber_ids:
            sub = subscribers.get(sid)
            if sub is None:
                continue
            if sid in blocked:
                result.filtered.append(sid)
                detail(sid, blocked[sid], raw={"preferences": {"passed": False}})
                continue
            try:
                rendered.append(self.render(step, ctx, sub, request.digest))
            except RenderError as exc:
                result.failed.append(sid)
                detail(
                    sid,
                    "Message content could not be generated",
                    "Failed",
                    "Payload",
                    raw={"error": str(exc)},
                )

        sender = self.senders.get(step.type) or Sender()
        await sender.deliver(Batch(self.db, ctx, request, rendered, notifications, result, detail))
        async with self.db.session() as session:
            await add_details(session=session, rows=details)
        return result

    def render(
        self, step: StepSpec, ctx: DeliveryContext, sub: Subscriber, digest: dict[str, Any] | None
    ) -> Rendered:
        context = template_context(
            payload=ctx.payload,
            subscriber=subscriber_view(sub),
            actor=ctx.actor,
            tenant=ctx.tenant,
            digest=digest,
        )
        escape = step.type in ("in_app", "email")
        render = self.renderer.render_value
        return Rendered(
            subscriber=sub,
            content=render(step.content or "", context, escape=escape),
            subject=render(step.subject, context, escape=False) if step.subject else None,
            title=render(step.title, context, escape=False) if step.title else None,
            extra={
                "cta": render(step.cta, context, escape=False) if step.cta else None,
                "avatar": render(step.avatar, context, escape=False) if step.avatar else None,
                "data": render(step.data, context, escape=False) if step.data else None,
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

    @activity.defn(name=RECORD_DETAILS)
    async def record_details(self, request: RecordDetailsInput) -> None:
        async with self.db.session() as session:
            await add_details(session=session, rows=[d.model_dump() for d in request.details])
