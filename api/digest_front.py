"""The digest front door: a trigger whose workflow starts with a digest goes straight to the digest.

When the first active step of a REST workflow is a plain digest (regular window, no backoff, no step
conditions) and the trigger goes to exactly one subscriber, the trigger's own execution would do nothing
but hand the event to the subscriber's accumulator. The API does that itself with the one Temporal call
it makes anyway — signal-with-start of the accumulator — and the accumulator records the event and runs
the steps after the digest when the window closes (docs/digest.md says what differs and why).

Everything else keeps the execution path: topics, lists and broadcasts (one signal per recipient would
break "one Temporal call per trigger"), timed digests (the window depends on the subscriber's timezone,
read from the database), backoff digests (decided under a lock against recent events), digests with
conditions (they may depend on the subscriber), code workflows (their steps are Python: only the worker
knows which comes first) and digests after any active step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from store.digests import accumulator_id, subscriber_key
from workflows.interpreter import spec_from_novu
from workflows.models import DeliveryContext, DigestSignal, FrontEvent
from workflows.steps.timing import TimingError, payload_value, regular_duration


@dataclass(frozen=True)
class FrontDigest:
    """Where a front-door event goes: the accumulator's ID, its digest step, the signal to send."""

    accumulator_id: str
    step_id: str
    signal: DigestSignal
    subscriber_id: str


def first_active_digest(steps: list[dict[str, Any]]) -> Any:
    """The first active step if it is a digest the API can place exactly, else None."""
    for index, step in enumerate(steps):
        spec = spec_from_novu(step, index)
        if not spec.active:
            continue  # Novu creates no job for an inactive step; neither does the engine
        meta = spec.metadata
        plain = meta.get("type") not in ("timed", "backoff") and meta.get("backoff") is not True
        if spec.type == "digest" and plain and not spec.filters and not spec.skip:
            return spec
        return None
    return None


def single_subscriber(item: Any) -> dict[str, Any] | None:
    """One ``to`` entry as the subscriber spec ``activities.recipients.split_recipients`` makes of it;
    None for a topic or an entry without a subscriberId (the execution path reports those)."""
    if isinstance(item, str | int | float) and not isinstance(item, bool):
        return {"subscriberId": str(item)}
    if isinstance(item, dict) and item.get("type") != "Topic":
        sid = item.get("subscriberId")
        if isinstance(sid, str | int) and not isinstance(sid, bool) and sid != "":
            return {**{k: v for k, v in item.items() if v is not None}, "subscriberId": str(sid)}
    return None


def plan(context: DeliveryContext, to: list[Any], *, broadcast: bool) -> FrontDigest | None:
    """The front-door route for this trigger, or None when it must run as an execution."""
    snapshot = context.workflow
    if broadcast or snapshot.origin != "rest" or len(to) != 1:
        return None
    recipient = single_subscriber(to[0])
    if recipient is None:
        return None
    spec = first_active_digest(snapshot.steps)
    if spec is None:
        return None
    at = datetime.now(UTC)
    try:
        window_end = at + regular_duration(spec.metadata, context.overrides)
    except TimingError:
        return None  # the execution path records why the digest failed
    subscriber_id = str(recipient["subscriberId"])
    key_value = payload_value(context.payload, spec.metadata.get("digestKey"))
    return FrontDigest(
        accumulator_id=accumulator_id(
            environment_id=context.environment_id,
            definition_id=snapshot.id,
            step_id=spec.step_id,
            subscriber_id=subscriber_key(subscriber_id),
            key_value=key_value,
        ),
        step_id=spec.step_id,
        signal=DigestSignal(
            transaction_id=context.transaction_id,
            window_end=window_end,
            event=FrontEvent(context=context, recipient=recipient, at=at),
        ),
        subscriber_id=subscriber_id,
    )
