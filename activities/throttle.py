"""The throttle activity: count and record a cohort's executions per window in one locked transaction."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from temporalio import activity

from store import throttle
from store.db import Database
from store.digests import lock_keys
from store.messages import add_details
from workflows.details import Detail, DetailStatus, detail_row
from workflows.models import CHECK_THROTTLE, ThrottleInput, ThrottleResult
from workflows.steps.timing import TimingError, duration, parse_instant, payload_value

THROTTLED = Detail.STEP_THROTTLED


def window_of(meta: dict[str, Any], payload: dict[str, Any], at: datetime) -> timedelta:
    """A fixed window (``amount unit``) or one taken from the payload (``windowPath``): a number of
    seconds, an ``{amount, unit}`` object, or an ISO date the window reaches back to."""
    path = meta.get("windowPath")
    if path:
        value = payload_value(payload, path)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return duration(value, "seconds")
        if isinstance(value, dict):
            return duration(value.get("amount"), value.get("unit") or "seconds")
        since = parse_instant(value)
        if since is not None and since <= at:
            return at - since
        raise TimingError(f"Throttle window at path {path} is missing or invalid")
    return duration(meta.get("amount"), meta.get("unit") or "minutes")


def limit_of(meta: dict[str, Any]) -> int:
    try:
        value = int(meta.get("threshold", meta.get("limit", 1)))
    except (TypeError, ValueError) as exc:
        raise TimingError(f"Invalid throttle threshold {meta.get('threshold')!r}") from exc
    if value < 0:
        raise TimingError(f"Invalid throttle threshold {value}")
    return value


class ThrottleActivities:
    def __init__(self, *, db: Database) -> None:
        self.db = db

    @activity.defn(name=CHECK_THROTTLE)
    async def check_throttle(self, request: ThrottleInput) -> ThrottleResult:
        """Subscribers under the limit pass (and are counted); the others stop with a recorded reason."""
        ctx, step, at = request.context, request.step, request.at
        meta = step.metadata
        base = {
            "environment_id": ctx.environment_id,
            "transaction_id": ctx.transaction_id,
            "step_id": step.step_id,
        }

        def detail(sid: str, text: str, status: str, raw: Any) -> dict[str, Any]:
            return detail_row(
                ctx, text, status=status, subscriber_id=sid, step_id=step.step_id, channel="throttle", raw=raw
            )

        try:
            window, limit = window_of(meta, ctx.payload, at), limit_of(meta)
        except TimingError as exc:
            async with self.db.session() as session:
                rows = [
                    detail(s, Detail.THROTTLE_MISCONFIGURATION, DetailStatus.FAILED, {"error": str(exc)})
                    for s in request.subscriber_ids
                ]
                await add_details(session=session, rows=rows)
            return ThrottleResult(throttled=list(request.subscriber_ids), invalid=str(exc))
        key_value = payload_value(ctx.payload, meta.get("throttleKey"))
        suffix = json.dumps(key_value, sort_keys=True, default=str) if meta.get("throttleKey") else ""
        keys = {sid: f"{ctx.workflow.id}:{step.step_id}:{sid}:{suffix}" for sid in request.subscriber_ids}
        async with self.db.session() as session:
            await lock_keys(db=self.db, session=session, keys=list(keys.values()))
            done = await throttle.own_hits(session=session, subscriber_ids=request.subscriber_ids, **base)
            # Writing first takes SQLite's write lock before counting, so concurrent cohorts serialize.
            await throttle.add_hits(
                db=self.db,
                session=session,
                rows=[
                    {**base, "subscriber_id": sid, "throttle_key": keys[sid], "created_at": at}
                    for sid in request.subscriber_ids
                    if sid not in done
                ],
            )
            counts = await throttle.count_hits(
                session=session,
                environment_id=ctx.environment_id,
                keys=list(keys.values()),
                since=at - window,
                transaction_id=ctx.transaction_id,
            )
            allowed = [s for s in request.subscriber_ids if s in done or counts.get(keys[s], 0) < limit]
            over = [s for s in request.subscriber_ids if s not in set(allowed)]
            await throttle.remove_hits(session=session, subscriber_ids=over, **base)
            raw = {"threshold": limit, "windowSeconds": window.total_seconds()}
            await add_details(
                session=session, rows=[detail(s, THROTTLED, DetailStatus.WARNING, raw) for s in over]
            )
        return ThrottleResult(allowed=allowed, throttled=over)
