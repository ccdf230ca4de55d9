"""Inputs and results of the Temporal workflows and activities (one model each; new fields get defaults).

Grouped by the workflow they serve: what every workflow shares, the notification workflow (and its
steps' activities), the fan-out workflow, the digest accumulator workflow."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, BaseModel, Field, model_validator

CHANNELS = ("in_app", "email", "sms", "chat", "push")
StepType = Literal[
    "in_app", "email", "sms", "chat", "push", "delay", "digest", "throttle", "custom", "trigger"
]

NOTIFICATION_WORKFLOW = "Notification"


def execution_id(environment_id: str, transaction_id: str) -> str:
    """The Temporal workflow ID of a transaction's execution: unique per environment, so environments never
    collide. Not to be confused with ``workflow.id`` (the notification workflow definition's row id)."""
    return f"{environment_id}:{transaction_id}"


def fork_prefix(environment_id: str, transaction_id: str) -> str:
    """Where the IDs of every execution a transaction forks (cohorts, later delay groups) start.

    The environment plus a digest of the transactionId, followed by ``/``: the prefix holds no tenant text
    (cancel can search by it without quoting anything a tenant wrote), and no transaction's prefix is
    another's (``order-1`` and ``order-1:42`` differ in every digest character).
    """
    digest = hashlib.sha256(transaction_id.encode()).hexdigest()[:32]
    return f"{environment_id}/tx-{digest}/"


def fork_id(environment_id: str, transaction_id: str, current_id: str, suffix: str) -> str:
    """The ID of an execution forked from ``current_id`` (the root ``<env>:<tx>`` or an earlier fork)."""
    prefix = fork_prefix(environment_id, transaction_id)
    parent = current_id[len(prefix) :] if current_id.startswith(prefix) else "root"
    return f"{prefix}{suffix}" if parent == "root" else f"{prefix}{parent}:{suffix}"


#: Temporal IDs are ``execution_id`` in Python; payloads recorded before the rename say ``workflow_id`` (and
#: still do, so older workers read newer payloads), so both names are read.
HISTORY_NAME = AliasChoices("workflow_id", "execution_id")


# Activity names: workflows refer to activities only by name.
# Notification workflow (started by POST /v1/events/trigger): recipients, channel steps, details.
RESOLVE_RECIPIENTS = "resolve_recipients"
DELIVER_STEP = "deliver_step"
RECORD_DETAILS = "record_details"


# Shared by every workflow of a transaction: the step spec, the definition snapshot, the delivery context.
class VariantSpec(BaseModel):
    """A step variant: the conditions under which its template fields replace the step's."""

    TEMPLATE_FIELDS: ClassVar[tuple[str, ...]] = (
        "content", "subject", "title", "preheader", "sender_name", "cta", "actor", "feed_id"
    )  # fmt: skip

    variant_id: str | None = None  # Novu's ``_id`` (REST workflows); code variants have none
    name: str | None = None
    active: bool = True
    filters: list[dict[str, Any]] = Field(default_factory=list)
    content: Any = None
    subject: str | None = None
    title: str | None = None
    preheader: str | None = None
    sender_name: str | None = None
    cta: dict[str, Any] | None = None
    actor: dict[str, Any] | None = None
    feed_id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _novu_json(cls, value: Any) -> Any:
        """Activity inputs scheduled before variants were typed carry Novu's variant JSON: read it."""
        if isinstance(value, dict) and "template" in value:
            from workflows.step_json import variant_fields

            return variant_fields(value)
        return value


class StepSpec(BaseModel):
    """One step, whichever way it was authored (Python code or Novu's step JSON)."""

    step_id: str
    type: StepType
    name: str | None = None
    active: bool = True
    should_stop_on_fail: bool = False
    filters: list[dict[str, Any]] = Field(default_factory=list)
    variants: list[VariantSpec] = Field(default_factory=list)
    content: Any = None
    subject: str | None = None
    title: str | None = None
    preheader: str | None = None
    sender_name: str | None = None
    layout_id: str | None = None
    feed_id: str | None = None
    cta: dict[str, Any] | None = None
    actor: dict[str, Any] | None = None
    avatar: str | None = None
    data: dict[str, Any] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    variables: list[dict[str, Any]] = Field(default_factory=list)
    custom_activity: str | None = None
    custom_input: Any = None
    skip: bool = False  # the code workflow's ``skip=`` was true: recorded as filtered, not run
    custom_timeout_seconds: float = 300.0
    custom_max_attempts: int = 3


class WorkflowSnapshot(BaseModel):
    """The notification workflow as it was when the trigger was accepted."""

    id: str
    identifier: str
    name: str
    origin: Literal["code", "rest"] = "rest"
    critical: bool = False
    preference_settings: dict[str, bool] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    steps: list[dict[str, Any]] = Field(default_factory=list)


class DeliveryContext(BaseModel):
    """What every step of one transaction shares."""

    environment_id: str
    organization_id: str
    transaction_id: str
    workflow: WorkflowSnapshot
    payload: dict[str, Any] = Field(default_factory=dict)
    overrides: dict[str, Any] = Field(default_factory=dict)
    actor: dict[str, Any] | None = None
    tenant: dict[str, Any] | None = None
    override_preferences: dict[str, bool] | None = None  # the tenant's workflow override, if any

    def for_step_activity(self) -> DeliveryContext:
        """This context as a step's activity gets it: without the definition's step list, which only the
        workflow reads (the step travels as its spec). One delivery per step and cohort no longer carries
        every step of the workflow."""
        return self.model_copy(update={"workflow": self.workflow.model_copy(update={"steps": []})})


# Notification workflow: its input and result, and its activities' inputs and results.
class ResumePoint(BaseModel):
    """Where a resumed run picks up: after ``after_step_id``, which returns ``result``; or, when
    ``at_step_id`` is set, *at* that step (its send window has opened: it runs without checking again)."""

    after_step_id: str
    result: Any = None
    results: dict[str, Any] = Field(default_factory=dict)
    at_step_id: str | None = None


class RunInput(BaseModel):
    """Input of the notification workflow started by ``POST /v1/events/trigger``."""

    context: DeliveryContext
    to: list[Any] = Field(default_factory=list)
    subscriber_ids: list[str] | None = None  # internal ids: set when recipients are already resolved
    resume: ResumePoint | None = None
    broadcast: bool = False  # every subscriber of the environment (POST /v1/events/trigger/broadcast)


class RunResult(BaseModel):
    subscribers: int = 0
    steps: dict[str, dict[str, int]] = Field(default_factory=dict)


class ResolveInput(BaseModel):
    context: DeliveryContext
    to: list[Any]


class ResolveResult(BaseModel):
    subscriber_ids: list[str] = Field(default_factory=list)
    topic_keys: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    topic_ids: list[str] = Field(default_factory=list)
    missing_topics: list[str] = Field(default_factory=list)  # the event is dropped, as Novu does
    actor_id: str | None = None  # internal id of the actor (excluded from topic fan-out)


class DeliverInput(BaseModel):
    context: DeliveryContext
    step: StepSpec
    subscriber_ids: list[str]
    digest: dict[str, Any] | None = None  # {"events": [...], "total_count": n} for steps after a digest
    results: dict[str, Any] = Field(default_factory=dict)
    window_open: bool = False  # resumed when the send window opened: deliver without checking it again


class DeliverResult(BaseModel):
    """Per-step outcome for a cohort: who got it, who was filtered (and why), who failed, and who waits
    for their send window to open (subscriber → when)."""

    sent: list[str] = Field(default_factory=list)
    filtered: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)
    deferred: dict[str, datetime] = Field(default_factory=dict)


class DetailRecord(BaseModel):
    environment_id: str
    transaction_id: str
    detail: str
    status: str = "Success"
    source: str = "Internal"
    subscriber_id: str | None = None
    step_id: str | None = None
    channel: str | None = None
    raw: Any = None


class TransactionCompleted(BaseModel):
    """A transaction's run finished: emitted as the ``workflow.completed`` webhook with its counts."""

    environment_id: str
    transaction_id: str
    workflow: str
    status: str = "completed"  # or "failed"
    subscribers: int = 0
    steps: dict[str, dict[str, int]] = Field(default_factory=dict)
    resumed: bool = False


def counted(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def step_summary(kind: str, step_id: str, subscribers: int) -> str:
    """What the Temporal UI shows for a step's activity: ``email · welcome-email · 1 subscriber``."""
    return f"{kind} · {step_id} · {counted(subscribers, 'subscriber')}"


class RecordDetailsInput(BaseModel):
    details: list[DetailRecord]
    completed: TransactionCompleted | None = None


# Fan-out workflow: large audiences run as cohort child workflows (see workflows/fanout.py).
FANOUT_WORKFLOW = "NotificationFanout"
COHORT_WORKFLOW = "NotificationCohort"
PROGRESS_QUERY = "progress"
AUDIENCE_PAGE = "audience_page"
COUNT_AUDIENCE = "count_audience"


class Audience(BaseModel):
    """Who a trigger reaches beyond its explicit recipients: topic members, or every subscriber."""

    topic_ids: list[str] = Field(default_factory=list)
    broadcast: bool = False
    exclude: list[str] = Field(default_factory=list)  # internal ids: listed explicitly, and the actor


class AudiencePageInput(BaseModel):
    """A keyset page of the audience: internal ids in ``(after, until]``, at most ``limit`` (0: no limit)."""

    context: DeliveryContext
    audience: Audience
    after: str | None = None
    until: str | None = None
    limit: int = 0
    with_ids: bool = True
    open_notifications: bool = False


class AudiencePage(BaseModel):
    ids: list[str] = Field(default_factory=list)
    count: int = 0
    last: str | None = None
    has_more: bool = False


class CountAudienceInput(BaseModel):
    context: DeliveryContext
    audience: Audience


class FanoutProgress(BaseModel):
    """What the ``progress`` query answers: subscribers done of the total, in cohorts."""

    total: int = 0
    done: int = 0
    cohorts_started: int = 0
    cohorts_done: int = 0
    cohorts_failed: int = 0
    finished: bool = False
    steps: dict[str, dict[str, int]] = Field(default_factory=dict)


class FanoutInput(BaseModel):
    """State of a fan-out, carried across continue-as-new."""

    run: RunInput
    audience: Audience
    explicit: list[str] = Field(default_factory=list)  # internal ids listed in ``to``
    cursor: str | None = None  # the last audience id handed to a cohort
    exhausted: bool = False
    next_cohort: int = 0
    counted: bool = False
    progress: FanoutProgress = Field(default_factory=FanoutProgress)
    cohort_size: int = 500
    cohorts_per_run: int = 200  # cohorts one run starts before it continues as new


class CohortInput(BaseModel):
    """One cohort child: explicit ids (``run.subscriber_ids``) or an audience range ``(after, until]``."""

    run: RunInput
    index: int
    audience: Audience | None = None
    after: str | None = None
    until: str | None = None


# Notification workflow, action steps: digest (join), delay (local wake times, resumed runs), throttle.
JOIN_DIGEST = "join_digest"
LOCAL_WAKE_TIMES = "local_wake_times"
START_RESUMED_RUNS = "start_resumed_runs"
CHECK_THROTTLE = "check_throttle"


class JoinDigestInput(BaseModel):
    """A cohort reaching a digest step: each subscriber's event joins its accumulator (or is skipped)."""

    context: DeliveryContext
    step: StepSpec
    subscriber_ids: list[str]
    results: dict[str, Any] = Field(default_factory=dict)
    at: datetime


class JoinDigestResult(BaseModel):
    digested: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)  # backoff: no recent event, the steps run now
    cancelled: list[str] = Field(default_factory=list)


class LocalWakeInput(BaseModel):
    subscriber_ids: list[str]
    at_time: str
    now: datetime


class LocalWakeResult(BaseModel):
    wake: dict[str, datetime] = Field(default_factory=dict)
    invalid: str | None = None


class ScheduledRun(BaseModel):
    #: The Temporal workflow ID the resumed run starts under; ``workflow_id`` on the wire (recorded histories).
    execution_id: str = Field(validation_alias=HISTORY_NAME, serialization_alias="workflow_id")
    run: RunInput
    start_at: datetime


class StartRunsInput(BaseModel):
    runs: list[ScheduledRun]
    now: datetime


class ThrottleInput(BaseModel):
    context: DeliveryContext
    step: StepSpec
    subscriber_ids: list[str]
    at: datetime


class ThrottleResult(BaseModel):
    allowed: list[str] = Field(default_factory=list)
    throttled: list[str] = Field(default_factory=list)
    invalid: str | None = None


# Notification workflow: conditions on action steps (delay, digest, throttle, custom), decided before the step runs.
CHECK_CONDITIONS = "check_conditions"


class ConditionsInput(BaseModel):
    context: DeliveryContext
    step: StepSpec
    subscriber_ids: list[str]


class ConditionsResult(BaseModel):
    passed: list[str] = Field(default_factory=list)
    filtered: list[str] = Field(default_factory=list)


# Digest accumulator workflow: one per (environment, workflow, subscriber, digest key); fires the digested run.
DIGEST_ACCUMULATOR_WORKFLOW = "DigestAccumulator"
FIRE_DIGEST = "fire_digest"
RECORD_DIGEST_EVENTS = "record_digest_events"


class FrontEvent(BaseModel):
    """A trigger handed straight to its digest by the API (the digest is the workflow's first active
    step): the context and the one recipient, until the accumulator has recorded them in the database."""

    context: DeliveryContext
    recipient: dict[str, Any]
    at: datetime


class DigestSignal(BaseModel):
    """One event for an accumulator; the window it opens (if it is the first) ends at ``window_end``.
    ``event`` is set when the API sent it (not yet in the database); the accumulator records it, then
    keeps only the transactionId."""

    transaction_id: str
    window_end: datetime
    event: FrontEvent | None = None


def leading_batch(sizes: Iterable[int], *, max_events: int, max_bytes: int) -> int:
    """How many of the leading items (of these sizes in bytes) one batch takes: at most ``max_events``, and
    no more than fit in ``max_bytes`` — but always the first. Sizes are read only as far as needed."""
    take, total = 0, 0
    for size in itertools.islice(sizes, max_events):
        total += size
        if take and total > max_bytes:
            break
        take += 1
    return take


class RecordDigestInput(BaseModel):
    """Front-door events an accumulator received: record their subscriber, notification and membership."""

    accumulator_id: str
    step_id: str
    digest_key: str | None = None
    events: list[DigestSignal]


class RecordDigestResult(BaseModel):
    subscriber_id: str | None = None  # the internal id of the accumulator's subscriber


class AccumulatorInput(BaseModel):
    environment_id: str
    subscriber_id: str
    step_id: str
    pending: list[DigestSignal] = Field(default_factory=list)
    recent: list[str] = Field(default_factory=list)  # transaction ids of the last window (de-duplication)
    # Continue-as-new inside a long window after this many events: a run's history stays small enough to
    # replay within a burst's next signals (docs/digest.md, "Bursts"). New accumulators take it from here;
    # one that is running keeps the value its input carries.
    max_events_per_run: int = 500


class FireDigestInput(BaseModel):
    accumulator_id: str
    environment_id: str
    subscriber_id: str
    step_id: str
    transaction_ids: list[str]
    run_key: str


class FireDigestResult(BaseModel):
    total_count: int = 0
    #: The Temporal workflow ID of the digested run; ``workflow_id`` on the wire (recorded histories).
    execution_id: str | None = Field(
        default=None, validation_alias=HISTORY_NAME, serialization_alias="workflow_id"
    )
