"""Digest activities: joining a cohort's events to their accumulators, and firing a closed window."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.recipients import open_event_notifications
from activities.schedule import next_timed, zone
from store import digests
from store.db import Database
from store.messages import add_details
from store.subscribers import subscriber_zones, upsert_recipients
from tidings.metrics import DIGEST_EVENTS
from workflows.details import Detail, DetailSource, DetailStatus, detail_row
from workflows.digest import ADD_SIGNAL
from workflows.interpreter import spec_from_novu
from workflows.models import (
    DIGEST_ACCUMULATOR_WORKFLOW,
    FIRE_DIGEST,
    JOIN_DIGEST,
    NOTIFICATION_WORKFLOW,
    RECORD_DIGEST_EVENTS,
    AccumulatorInput,
    DeliveryContext,
    DigestSignal,
    FireDigestInput,
    FireDigestResult,
    JoinDigestInput,
    JoinDigestResult,
    RecordDigestInput,
    RecordDigestResult,
    ResumePoint,
    RunInput,
    StepSpec,
    leading_batch,
)
from workflows.steps.timing import TimingError, duration, payload_value, regular_duration

SIGNAL_CONCURRENCY = 32
#: The payloads of a fired window that the steps after the digest get as ``step.events``: the oldest, up
#: to about this many bytes of JSON. They travel in Temporal inputs (the execution's, then each step's),
#: which Temporal refuses over 2 MB, beside the trigger's context (up to 512 KiB of payload); a larger
#: window used to fail to start its execution on every retry, and its notification was never sent.
#: ``step.total_count`` still counts every event; a "Digest events truncated" detail says how many went.
DIGEST_EVENTS_BYTES = 1_000_000


def is_backoff(meta: dict[str, Any]) -> bool:
    return meta.get("type") == "backoff" or meta.get("backoff") is True


def window_ends(
    step: StepSpec, ctx: DeliveryContext, at: datetime, timezones: dict[str, str | None]
) -> dict[str, datetime]:
    """When a window opened by this event closes, per subscriber (timed digests use their timezone)."""
    meta = step.metadata
    if meta.get("type") == "timed":
        timed = dict(meta.get("timed") or {})
        return {sid: next_timed(at, timed, zone(tz)) for sid, tz in timezones.items()}
    end = at + regular_duration(meta, ctx.overrides)
    return dict.fromkeys(timezones, end)


def digest_detail(
    ctx: DeliveryContext,
    sid: str,
    step_id: str,
    text: str,
    status: str = DetailStatus.SUCCESS,
    raw: Any = None,
) -> dict[str, Any]:
    """A digest step's detail; a failure is the payload's (a bad window or key)."""
    source = DetailSource.PAYLOAD if status == DetailStatus.FAILED else DetailSource.INTERNAL
    return detail_row(
        ctx, text, status=status, source=source, subscriber_id=sid, step_id=step_id, channel="digest", raw=raw
    )


def front_digest_key(ctx: DeliveryContext, step_id: str) -> Any:
    """The digestKey of the step ``step_id`` in the context's definition (for the "digested" detail)."""
    for index, step in enumerate(ctx.workflow.steps):
        spec = spec_from_novu(step, index)
        if spec.step_id == step_id:
            return spec.metadata.get("digestKey")
    return None


class DigestActivities:
    def __init__(self, *, db: Database, client: Client) -> None:
        self.db = db
        self.client = client

    @activity.defn(name=JOIN_DIGEST)
    async def join_digest(self, request: JoinDigestInput) -> JoinDigestResult:
        """Record each subscriber's event, decide backoff skips under a lock, then signal-with-start."""
        ctx, step, at = request.context, request.step, request.at
        if not request.subscriber_ids:
            return JoinDigestResult()
        async with self.db.session() as session:
            zones = await subscriber_zones(session=session, ids=request.subscriber_ids)
            timezones: dict[str, str | None] = {sid: tz for sid, (tz, _) in zones.items()}
            external = {sid: ext for sid, (_, ext) in zones.items()}
        try:
            ends = window_ends(step, ctx, at, timezones)
            backoff = is_backoff(step.metadata)
            look_back = (
                duration(step.metadata.get("backoffAmount", 0), step.metadata.get("backoffUnit") or "seconds")
                if backoff
                else None
            )
        except TimingError as exc:
            async with self.db.session() as session:
                await add_details(
                    session=session,
                    rows=[
                        digest_detail(
                            ctx,
                            sid,
                            step.step_id,
                            Detail.DELAY_MISCONFIGURATION,
                            DetailStatus.FAILED,
                            {"error": str(exc)},
                        )
                        for sid in timezones
                    ],
                )
            return JoinDigestResult(cancelled=list(timezones))
        key_value = payload_value(ctx.payload, step.metadata.get("digestKey"))
        acc = {
            sid: digests.accumulator_id(
                environment_id=ctx.environment_id,
                definition_id=ctx.workflow.id,
                step_id=step.step_id,
                subscriber_id=digests.subscriber_key(external[sid]),
                key_value=key_value,
            )
            for sid in timezones
        }
        events = await self.record(request, acc, ends, look_back)
        async with self.db.session() as session:  # a second transaction, after the membership commit
            if await digests.is_cancelled(
                session=session, environment_id=ctx.environment_id, transaction_id=ctx.transaction_id
            ):
                await digests.set_status(
                    session=session,
                    ids=[e.id for e in events.values()],
                    status="cancelled",
                    only_from="pending",
                )
                return JoinDigestResult(cancelled=list(events))
        pending = [sid for sid, e in events.items() if e.status == "pending"]
        DIGEST_EVENTS.inc(len(pending))
        await self.signal_all(request, acc, ends, pending)
        return JoinDigestResult(
            digested=[sid for sid, e in events.items() if e.status in ("pending", "fired")],
            skipped=[sid for sid, e in events.items() if e.status == "skipped"],
            cancelled=[sid for sid, e in events.items() if e.status == "cancelled"],
        )

    async def record(
        self,
        request: JoinDigestInput,
        acc: dict[str, str],
        ends: dict[str, datetime],
        look_back: timedelta | None,
    ) -> dict[str, Any]:
        ctx, step, at = request.context, request.step, request.at
        base = {
            "environment_id": ctx.environment_id,
            "transaction_id": ctx.transaction_id,
            "step_id": step.step_id,
        }
        async with self.db.session() as session:
            if look_back is not None:
                await digests.lock_keys(db=self.db, session=session, keys=list(acc.values()))
            before = await digests.events_of(session=session, subscriber_ids=list(acc), **base)
            fresh = [sid for sid in acc if sid not in before]
            await digests.add_events(
                db=self.db,
                session=session,
                rows=[
                    {
                        **base,
                        "subscriber_id": sid,
                        "accumulator_id": acc[sid],
                        "payload": ctx.payload,
                        "run": {"context": ctx.model_dump(mode="json"), "results": request.results},
                        "created_at": at,
                    }
                    for sid in fresh
                ],
            )
            events = await digests.events_of(session=session, subscriber_ids=list(acc), **base)
            details: list[dict[str, Any]] = []
            if look_back is not None and fresh:
                active = await digests.recently_active(
                    session=session,
                    accumulator_ids=[acc[s] for s in fresh],
                    since=at - look_back,
                    transaction_id=ctx.transaction_id,
                )
                first = [events[s].id for s in fresh if acc[s] not in active and s in events]
                await digests.set_status(session=session, ids=first, status="skipped")
                for sid in fresh:
                    if acc[sid] not in active and sid in events:
                        events[sid].status = "skipped"
                        details.append(digest_detail(ctx, sid, step.step_id, Detail.DIGEST_SKIPPED))
            for sid in fresh:
                if sid in events and events[sid].status == "pending":
                    details.append(
                        digest_detail(
                            ctx,
                            sid,
                            step.step_id,
                            Detail.STEP_DIGESTED,
                            raw={
                                "digestKey": step.metadata.get("digestKey"),
                                "windowEnd": ends[sid].isoformat(),
                            },
                        )
                    )
            await add_details(session=session, rows=details)
        return events

    async def signal_all(
        self, request: JoinDigestInput, acc: dict[str, str], ends: dict[str, datetime], sids: list[str]
    ) -> None:
        ctx, step = request.context, request.step
        queue = activity.info().task_queue
        gate = asyncio.Semaphore(SIGNAL_CONCURRENCY)

        async def signal(sid: str) -> None:
            async with gate:
                await self.client.start_workflow(
                    DIGEST_ACCUMULATOR_WORKFLOW,
                    AccumulatorInput(
                        environment_id=ctx.environment_id, subscriber_id=sid, step_id=step.step_id
                    ),
                    id=acc[sid],
                    task_queue=queue,
                    start_signal=ADD_SIGNAL,
                    start_signal_args=[DigestSignal(transaction_id=ctx.transaction_id, window_end=ends[sid])],
                )

        await asyncio.gather(*(signal(sid) for sid in sids))

    @activity.defn(name=RECORD_DIGEST_EVENTS)
    async def record_digest_events(self, request: RecordDigestInput) -> RecordDigestResult:
        """Front-door events reach the database: their subscriber (upserted as a trigger's execution
        would), notification row, digest membership and "digested" detail — idempotent, so a retry or a
        re-sent transactionId adds nothing. Then, as in :meth:`join_digest`, a second transaction reads
        the cancel marks, so an event cancelled before it was recorded never fires."""
        fronts = [e.event for e in request.events if e.event is not None]
        if not fronts:
            return RecordDigestResult()
        ctx = fronts[0].context
        env = ctx.environment_id
        ends = {e.transaction_id: e.window_end for e in request.events}
        async with self.db.session() as session:
            actors = [
                f.context.actor for f in fronts if f.context.actor and f.context.actor.get("subscriberId")
            ]
            if actors:
                await upsert_recipients(db=self.db, session=session, environment_id=env, recipients=actors)
            rows = await upsert_recipients(
                db=self.db, session=session, environment_id=env, recipients=[f.recipient for f in fronts]
            )
            sid = rows[str(fronts[0].recipient["subscriberId"])].id
            await open_event_notifications(self.db, session, [f.context for f in fronts], sid)
            txs = [f.context.transaction_id for f in fronts]
            base = {"environment_id": env, "step_id": request.step_id, "subscriber_id": sid}
            before = await digests.members(session=session, transaction_ids=txs, **base)
            fresh = [f for f in fronts if f.context.transaction_id not in before]
            await digests.add_events(
                db=self.db,
                session=session,
                rows=[
                    {
                        **base,
                        "transaction_id": f.context.transaction_id,
                        "accumulator_id": request.accumulator_id,
                        "payload": f.context.payload,
                        "run": {"context": f.context.model_dump(mode="json"), "results": {}},
                        "created_at": f.at,
                    }
                    for f in fresh
                ],
            )
            key = front_digest_key(ctx, request.step_id)
            await add_details(
                session=session,
                rows=[
                    digest_detail(
                        f.context,
                        sid,
                        request.step_id,
                        Detail.STEP_DIGESTED,
                        raw={"digestKey": key, "windowEnd": ends[f.context.transaction_id].isoformat()},
                    )
                    for f in fresh
                ],
            )
        async with self.db.session() as session:  # after the membership commit, as join_digest does
            marked = await digests.cancelled_among(session=session, environment_id=env, transaction_ids=txs)
            if marked:
                members = await digests.members(session=session, transaction_ids=list(marked), **base)
                await digests.set_status(
                    session=session,
                    ids=[m.id for m in members.values()],
                    status="cancelled",
                    only_from="pending",
                )
        DIGEST_EVENTS.inc(len(fresh))
        return RecordDigestResult(subscriber_id=sid)

    @activity.defn(name=FIRE_DIGEST)
    async def fire_digest(self, request: FireDigestInput) -> FireDigestResult:
        """Claim the window's still-pending events and start the steps after the digest once, with all of
        them. The execution's ID derives from the accumulator run, so a retry never starts it twice."""
        async with self.db.session() as session:
            fired, claimed = await digests.claim_window(
                session=session,
                accumulator_id=request.accumulator_id,
                transaction_ids=request.transaction_ids,
                run_key=request.run_key,
            )
            if not fired:
                return FireDigestResult()
            first = fired[0]
            context = DeliveryContext.model_validate(first.run["context"])
            events = [e.payload for e in fired]
            kept = leading_batch(
                (len(json.dumps(p, separators=(",", ":"), default=str)) for p in events),
                max_events=len(events),
                max_bytes=DIGEST_EVENTS_BYTES,
            )
            if claimed:  # details once, even if this activity is retried

                def detail(text: str, status: str = DetailStatus.SUCCESS, raw: Any = None) -> dict[str, Any]:
                    return digest_detail(context, request.subscriber_id, request.step_id, text, status, raw)

                rows = [
                    detail(
                        Detail.DIGEST_TRIGGERED_EVENTS,
                        raw={"total_count": len(fired), "transactionIds": [e.transaction_id for e in fired]},
                    )
                ]
                rows += [
                    {
                        **detail(Detail.DIGEST_MERGED),
                        "transaction_id": e.transaction_id,
                        "raw": {"mergedInto": first.transaction_id},
                    }
                    for e in fired[1:]
                ]
                if kept < len(events):
                    rows.append(
                        detail(
                            Detail.DIGEST_EVENTS_TRUNCATED,
                            DetailStatus.WARNING,
                            raw={"total_count": len(events), "events": kept, "maxBytes": DIGEST_EVENTS_BYTES},
                        )
                    )
                await add_details(session=session, rows=rows)
        run = RunInput(
            context=context,
            subscriber_ids=[request.subscriber_id],
            resume=ResumePoint(
                after_step_id=request.step_id,
                result={"events": events[:kept], "total_count": len(events)},
                results=dict(first.run.get("results") or {}),
            ),
        )
        run_id = f"{request.accumulator_id}:{request.run_key}"
        try:
            await self.client.start_workflow(
                NOTIFICATION_WORKFLOW,
                run,
                id=run_id,
                task_queue=activity.info().task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            pass  # started by an earlier attempt
        return FireDigestResult(total_count=len(events), execution_id=run_id)
