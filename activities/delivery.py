"""The activities behind every trigger: resolve recipients, deliver a step to a cohort, record details."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.preferences import filter_by_preferences
from activities.providers.base import EmailMessage, EmailProvider, ProviderError
from activities.render import Renderer, RenderError, template_context
from store.crypto import CredentialCipher
from store.db import Database, utcnow
from store.messages import add_details, existing_messages, record_messages, record_notifications
from store.models import Integration, Notification, Subscriber
from store.subscribers import load_subscribers, upsert_recipients
from store.views import subscriber_view
from workflows.models import (
    DELIVER_STEP,
    RECORD_DETAILS,
    RESOLVE_RECIPIENTS,
    DeliverInput,
    DeliverResult,
    DeliveryContext,
    RecordDetailsInput,
    ResolveInput,
    ResolveResult,
)

log = logging.getLogger(__name__)


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
            errors.append(
                "subscriberId under property to is not configured, please make sure all subscribers "
                "contains subscriberId property"
            )
    return list(subscribers.values()), topics, errors


@dataclass
class Rendered:
    subscriber: Subscriber
    content: Any
    subject: str | None = None
    title: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class DeliveryActivities:
    """Built once per worker with its dependencies; ``worker.py`` registers the bound methods."""

    def __init__(
        self,
        *,
        db: Database,
        cipher: CredentialCipher,
        renderer: Renderer | None = None,
        email_providers: dict[str, EmailProvider] | None = None,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.renderer = renderer or Renderer()
        self.email_providers = email_providers or {}

    # -- recipients ---------------------------------------------------------------------------
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
            await self._open_notifications(session, ctx, ids)
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

    async def _open_notifications(self, session: Any, ctx: DeliveryContext, ids: list[str]) -> None:
        channels = (
            [s.get("template", {}).get("type") for s in ctx.workflow.steps] if ctx.workflow.steps else []
        )
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

    # -- delivery -----------------------------------------------------------------------------
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
            notifications = await self._notification_ids(session, ctx, list(subscribers))
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
                rendered.append(self._render(step.type, step, ctx, sub, request.digest))
            except RenderError as exc:
                result.failed.append(sid)
                detail(
                    sid,
                    "Message content could not be generated",
                    "Failed",
                    "Payload",
                    raw={"error": str(exc)},
                )

        if step.type == "in_app":
            await self._deliver_in_app(ctx, request, rendered, notifications, result, detail)
        elif step.type == "email":
            await self._deliver_email(ctx, request, rendered, notifications, result, detail)
        else:
            for r in rendered:
                result.failed.append(r.subscriber.id)
                detail(r.subscriber.id, "Subscriber does not have an active integration", "Failed")
        async with self.db.session() as session:
            await add_details(session=session, rows=details)
        return result

    def _render(
        self, channel: str, step: Any, ctx: DeliveryContext, sub: Subscriber, digest: dict[str, Any] | None
    ) -> Rendered:
        context = template_context(
            payload=ctx.payload,
            subscriber=subscriber_view(sub),
            actor=ctx.actor,
            tenant=ctx.tenant,
            digest=digest,
        )
        escape = channel in ("in_app", "email")
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

    async def _notification_ids(self, session: Any, ctx: DeliveryContext, ids: list[str]) -> dict[str, str]:
        if not ids:
            return {}
        stmt = select(Notification.subscriber_id, Notification.id).where(
            Notification.environment_id == ctx.environment_id,
            Notification.transaction_id == ctx.transaction_id,
            col(Notification.subscriber_id).in_(ids),
        )
        return {s: n for s, n in (await session.exec(stmt)).all()}

    def _message_row(
        self,
        ctx: DeliveryContext,
        request: DeliverInput,
        r: Rendered,
        notifications: dict[str, str],
        **extra: Any,
    ) -> dict[str, Any]:
        step = request.step
        now = utcnow()
        cta = r.extra.get("cta") or {"type": "redirect", "data": {}}
        return {
            "environment_id": ctx.environment_id,
            "notification_id": notifications.get(r.subscriber.id),
            "subscriber_id": r.subscriber.id,
            "workflow_id": ctx.workflow.id,
            "template_identifier": ctx.workflow.identifier,
            "step_id": step.step_id,
            "transaction_id": ctx.transaction_id,
            "channel": step.type,
            "content": r.content,
            "subject": r.subject,
            "title": r.title,
            "cta": cta,
            "actor": step.actor,
            "avatar": r.extra.get("avatar"),
            "data": r.extra.get("data"),
            "tags": ctx.workflow.tags,
            "payload": {k: v for k, v in ctx.payload.items() if k != "attachments"},
            "overrides": ctx.overrides,
            "feed_id": step.feed_id,
            "created_at": now,
            "updated_at": now,
            **extra,
        }

    async def _deliver_in_app(
        self,
        ctx: DeliveryContext,
        request: DeliverInput,
        rendered: list[Rendered],
        notifications: dict[str, str],
        result: DeliverResult,
        detail: Any,
    ) -> None:
        rows = [self._message_row(ctx, request, r, notifications, provider_id="novu") for r in rendered]
        async with self.db.session() as session:
            ids = await record_messages(db=self.db, session=session, rows=rows)
        for r in rendered:
            result.sent.append(r.subscriber.id)
            detail(r.subscriber.id, "Message created", message_id=ids.get(r.subscriber.id))

    async def _email_integration(self, ctx: DeliveryContext) -> Integration | None:
        async with self.db.session() as session:
            stmt = (
                select(Integration)
                .where(
                    Integration.environment_id == ctx.environment_id,
                    Integration.channel == "email",
                    col(Integration.active).is_(True),
                    col(Integration.deleted).is_(False),
                )
                .order_by(col(Integration.primary).desc(), col(Integration.priority).desc())
            )
            return (await session.exec(stmt)).first()

    async def _deliver_email(
        self,
        ctx: DeliveryContext,
        request: DeliverInput,
        rendered: list[Rendered],
        notifications: dict[str, str],
        result: DeliverResult,
        detail: Any,
    ) -> None:
        step = request.step
        async with self.db.session() as session:
            done = await existing_messages(
                session=session,
                environment_id=ctx.environment_id,
                transaction_id=ctx.transaction_id,
                step_id=step.step_id,
                subscriber_ids=[r.subscriber.id for r in rendered],
            )
        integration = await self._email_integration(ctx) if rendered else None
        for r in rendered:
            sid = r.subscriber.id
            if sid in done and done[sid].status == "sent":
                result.sent.append(sid)  # recorded by an earlier attempt: never send twice
                continue
            if not r.subscriber.email:
                result.filtered.append(sid)
                detail(sid, "Subscriber missing recipient details", "Warning", raw={"missing": "email"})
                continue
            if integration is None or integration.provider_id not in self.email_providers:
                result.failed.append(sid)
                detail(sid, "Subscriber does not have an active integration", "Failed")
                continue
            provider = self.email_providers[integration.provider_id]
            message = EmailMessage(
                to=[r.subscriber.email],
                subject=r.subject or "",
                html=str(r.content),
                idempotency_key=f"{ctx.transaction_id}-{sid}-{step.step_id}",
            )
            activity.heartbeat(sid)
            try:
                sent = await provider.send(message, self.cipher.decrypt(integration.credentials_encrypted))
            except ProviderError as exc:
                if not exc.permanent:
                    raise ApplicationError(f"{integration.provider_id}: {exc}") from exc
                result.failed.append(sid)
                detail(sid, "Unexpected provider error", "Failed", "Credentials", raw={"error": str(exc)})
                continue
            row = self._message_row(
                ctx,
                request,
                r,
                notifications,
                provider_id=integration.provider_id,
                integration_id=integration.id,
                email=r.subscriber.email,
                provider_message_id=sent.provider_message_id,
            )
            async with self.db.session() as session:
                ids = await record_messages(db=self.db, session=session, rows=[row])
            result.sent.append(sid)
            detail(sid, "Message sent", message_id=ids.get(sid), raw={"providerId": integration.provider_id})

    @activity.defn(name=RECORD_DETAILS)
    async def record_details(self, request: RecordDetailsInput) -> None:
        async with self.db.session() as session:
            await add_details(session=session, rows=[d.model_dump() for d in request.details])
