"""Delivering one channel step to a cohort: conditions, preferences, variants, rendering, then the sender.

Everything is done for the whole cohort with bulk reads; conditions and variants are decided per subscriber,
and a subscriber whose template fails is recorded as failed without affecting the others. Filters and
templates are tenant code: they run in the render sandbox (:mod:`activities.sandbox`), one call per cohort,
within a time, memory and output budget; running out of it fails that subscriber's step, nothing retries.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.conditions import previous_step_ids
from activities.heartbeat import heartbeating
from activities.preferences import filter_by_preferences
from activities.sandbox import SandboxPool
from activities.sandbox_jobs import RenderedFields
from activities.senders.base import Batch, Rendered, Sender
from activities.template_subscriber import template_subscriber
from activities.translations import step_references
from store.db import Database
from store.messages import add_details, notification_ids, step_read_states
from store.models import Subscriber, SubscriberRecord
from store.preferences import schedules_of
from store.subscribers import get_subscriber, load_subscribers
from store.translations import resource_translations
from store.webhook_events import WORKFLOW_COMPLETED, emit
from tidings.send_windows import Weekly, WindowError, next_open, step_window, subscriber_schedule, zone
from tidings.webhook_payloads import workflow_completed_data
from workflows.details import Detail, DetailSource, DetailStatus, detail_row
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

__all__ = ["CONTENT_FAILED", "FILTERED", "VARIANT_CHOSEN", "DeliveryActivities"]

FILTERED = Detail.FILTER_STEPS
VARIANT_CHOSEN = Detail.VARIANT_CHOSEN
CONTENT_FAILED = Detail.MESSAGE_CONTENT_NOT_GENERATED
FILTER_FAILED = "Step filters could not be evaluated"
TRANSLATION_MISSING = "Translation missing"
WINDOW_WAIT = "Step delayed until the send window opens"


def facts_item(
    sub: Subscriber | SubscriberRecord, step_messages: dict[str, dict[str, bool]]
) -> dict[str, Any]:
    """One subscriber's part of a sandbox job: the variables templates read and the facts filters read."""
    return {
        "subscriber": template_subscriber(sub),
        "facts": {
            "is_online": sub.is_online,
            "last_online_at": sub.last_online_at.isoformat() if sub.last_online_at else None,
            "step_messages": step_messages,
        },
    }


def shared_part(ctx: DeliveryContext, actor: dict[str, Any] | None) -> dict[str, Any]:
    """What every subscriber of the cohort shares in a sandbox job."""
    return {
        "payload": ctx.payload,
        "tenant": ctx.tenant,
        "actor": actor,
        "now": datetime.now(UTC).isoformat(),
    }


def log_failures(
    ctx: DeliveryContext,
    step: StepSpec,
    subscribers: dict[str, SubscriberRecord],
    details: list[dict[str, Any]],
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

    def __init__(
        self, *, db: Database, senders: dict[str, Sender], sandbox: SandboxPool, default_locale: str = "en_US"
    ) -> None:
        self.db = db
        self.senders = senders
        self.sandbox = sandbox
        self.default_locale = default_locale

    @activity.defn(name=DELIVER_STEP)
    async def deliver_step(self, request: DeliverInput) -> DeliverResult:
        """Deliver one channel step to a cohort: conditions, preferences, variants, rendering, provider.
        A remote attempt heartbeats for as long as it runs (activities/heartbeat.py)."""
        async with heartbeating():
            return await self.deliver(request)

    async def deliver(self, request: DeliverInput) -> DeliverResult:
        ctx, step = request.context, request.step
        result = DeliverResult()
        details: list[dict[str, Any]] = []

        def detail(
            sid: str | None,
            text: str,
            status: str = DetailStatus.SUCCESS,
            source: str = DetailSource.INTERNAL,
            raw: Any = None,
            message_id: str | None = None,
        ) -> None:
            details.append(
                detail_row(
                    ctx,
                    text,
                    status=status,
                    source=source,
                    subscriber_id=sid,
                    step_id=step.step_id,
                    channel=step.type,
                    raw=raw,
                    message_id=message_id,
                )  # fmt: skip
            )

        # Reads only: on SQLite a read session does not take the single writer's lock, which 200 channel
        # steps waiting on providers would otherwise queue on (e2e_slow_provider_rate, bench/README.md).
        async with self.db.read() as session:
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
            translator = await self.translator(session, ctx, step)
            schedules = await self.schedules(session, request, list(subscribers))
        present = [sid for sid in request.subscriber_ids if sid in subscribers]
        items = []
        for sid in present:
            sub = subscribers[sid]
            item = facts_item(sub, step_messages.get(sid, {}))
            items.append({**item, "blocked": sid in blocked, "locale": sub.locale})
        shared = {
            **shared_part(ctx, actor),
            "step": step.model_dump(mode="json"),
            "digest": request.digest,
            "results": request.results,
            "translations": translator,
        }
        outcomes = await self.sandbox.run("step", shared, items, tenant=ctx.environment_id)
        rendered: list[Rendered] = []
        for sid, outcome in zip(present, outcomes, strict=True):
            value = outcome.get("ok")
            if value is None:
                result.failed.append(sid)
                detail(sid, CONTENT_FAILED, "Failed", "Payload", raw={"error": outcome.get("error")})
            elif "filtered" in value:
                result.filtered.append(sid)
                detail(sid, FILTERED, raw={"filter": {"conditions": value["filtered"], "passed": False}})
            elif value.get("blocked"):
                result.filtered.append(sid)
                detail(sid, blocked[sid], raw={"preferences": {"passed": False}})
            else:
                sub = subscribers[sid]
                if schedules is not None:
                    until = self.window_opens(sub, step, schedules.get(sid), detail)
                    if until is not None:
                        result.deferred[sid] = until
                        detail(sid, WINDOW_WAIT, raw={"until": until.isoformat(), "timezone": sub.timezone})
                        continue
                if "variant" in value:
                    detail(sid, VARIANT_CHOSEN, raw={"variant": value["variant"]})
                if value.get("missing"):
                    detail(
                        sid,
                        TRANSLATION_MISSING,
                        DetailStatus.WARNING,
                        raw={"locale": sub.locale, "keys": value["missing"]},
                    )
                if "render_error" in value:
                    result.failed.append(sid)
                    detail(sid, CONTENT_FAILED, "Failed", "Payload", raw={"error": value["render_error"]})
                    continue
                fields: RenderedFields = value["rendered"]
                rendered.append(Rendered(subscriber=sub, **fields))

        sender = self.senders.get(step.type) or Sender()
        try:
            await sender.deliver(
                Batch(
                    self.db, ctx, request, rendered, notifications, result, detail, actor, self.default_locale
                )
            )
        finally:  # a retried activity keeps what this attempt did
            log_failures(ctx, step, subscribers, details)
            async with self.db.session() as session:
                await add_details(session=session, rows=details)
        return result

    async def schedules(
        self, session: AsyncSession, request: DeliverInput, ids: list[str]
    ) -> dict[str, dict[str, Any]] | None:
        """Subscribers' delivery schedules when this step may have to wait for a window, else ``None``.

        Critical workflows and runs resumed because the window opened never wait. The subscriber's own
        schedule holds back the interrupting channels (email, SMS, push, chat), not the in-app inbox; a
        step's ``sendWindow`` holds back whichever step declares it."""
        if request.window_open or request.context.workflow.critical:
            return None
        has_window = bool(request.step.metadata.get("sendWindow"))
        if request.step.type == "in_app":
            return {} if has_window else None
        found = await schedules_of(session=session, subscriber_ids=ids)
        return found if found or has_window else None

    def window_opens(
        self, sub: Subscriber | SubscriberRecord, step: StepSpec, schedule: dict[str, Any] | None, detail: Any
    ) -> datetime | None:
        """When ``sub`` may get ``step``: ``None`` for now. A window that cannot be read, or never opens,
        does not hold the message back (the reason is recorded)."""
        window = step.metadata.get("sendWindow")
        rules: list[Weekly] = []
        name = window.get("timezone") if isinstance(window, dict) else None
        tz, known = zone(name or sub.timezone)
        if not known:
            detail(
                sub.id,
                "Unknown timezone; UTC used for the send window",
                "Warning",
                raw={"timezone": name or sub.timezone},
            )
        try:
            if isinstance(window, dict):
                rules.append(step_window(window))
            weekly = subscriber_schedule(schedule) if step.type != "in_app" else None
            if weekly is not None:
                rules.append(weekly)
            return next_open(datetime.now(UTC), tz, rules)
        except WindowError as exc:
            detail(sub.id, "Send window ignored", "Warning", raw={"error": str(exc)})
            return None

    async def translator(
        self, session: AsyncSession, ctx: DeliveryContext, step: StepSpec
    ) -> dict[str, Any] | None:
        """The workflow's translations (for the sandbox), loaded only when the step refers to ``t.`` keys."""
        if not step_references(step):
            return None
        rows = await resource_translations(
            session=session,
            environment_id=ctx.environment_id,
            resource_type="workflow",
            resource_id=ctx.workflow.identifier,
        )
        return {"by_locale": {row.locale: row.content for row in rows}, "default_locale": self.default_locale}

    async def notification_ids(self, session: Any, ctx: DeliveryContext, ids: list[str]) -> dict[str, str]:
        return await notification_ids(
            session=session,
            environment_id=ctx.environment_id,
            transaction_id=ctx.transaction_id,
            subscriber_ids=ids,
        )

    async def step_states(
        self, session: AsyncSession, ctx: DeliveryContext, step: StepSpec, ids: list[str]
    ) -> dict[str, dict[str, dict[str, bool]]]:
        """subscriber → earlier step id → {read, seen} of its message, for ``previousStep`` conditions."""
        refs = previous_step_ids(step)
        if not refs or not ids:
            return {}
        return await step_read_states(
            session=session,
            environment_id=ctx.environment_id,
            transaction_id=ctx.transaction_id,
            step_ids=list(refs),
            subscriber_ids=ids,
        )

    async def actor_view(self, session: AsyncSession, ctx: DeliveryContext) -> dict[str, Any] | None:
        """The actor as a subscriber entity (what ``{{actor.firstName}}`` and ``on: actor`` read)."""
        if not ctx.actor:
            return None
        actor_id = ctx.actor.get("subscriberId")
        row = None
        if actor_id is not None:
            row = await get_subscriber(
                session=session, environment_id=ctx.environment_id, subscriber_id=str(actor_id)
            )
        return {**ctx.actor, **template_subscriber(row)} if row is not None else dict(ctx.actor)

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
        present = [sid for sid in request.subscriber_ids if sid in subscribers]
        if not step.filters:  # no tenant code to run
            result.passed = present
            return result
        items = [facts_item(subscribers[s], step_messages.get(s, {})) for s in present]
        shared = {**shared_part(ctx, actor), "filters": step.filters}
        outcomes = await self.sandbox.run("conditions", shared, items, tenant=ctx.environment_id)
        for sid, outcome in zip(present, outcomes, strict=True):
            value = outcome.get("ok")
            if value is not None and value["passed"]:
                result.passed.append(sid)
                continue
            result.filtered.append(sid)
            row: dict[str, Any] = {
                "environment_id": ctx.environment_id,
                "transaction_id": ctx.transaction_id,
                "workflow_id": ctx.workflow.id,
                "subscriber_id": sid,
                "step_id": step.step_id,
                "channel": step.type,
            }
            if value is None:  # a filter that ran out of budget or failed: the step fails for them
                row.update(
                    detail=FILTER_FAILED,
                    status="Failed",
                    source="Payload",
                    raw={"error": outcome.get("error")},
                )
            else:
                row.update(
                    detail=FILTERED, raw={"filter": {"conditions": value["conditions"], "passed": False}}
                )
            rows.append(row)
        async with self.db.session() as session:
            await add_details(session=session, rows=rows)
        return result

    @activity.defn(name=RECORD_DETAILS)
    async def record_details(self, request: RecordDetailsInput) -> None:
        async with self.db.session() as session:
            await add_details(session=session, rows=[d.model_dump() for d in request.details])
            if request.completed is not None:
                done = request.completed
                data = workflow_completed_data(done)
                await emit(session, environment_id=done.environment_id, event=WORKFLOW_COMPLETED, data=data)
