"""Inputs and results of the Temporal workflows and activities (one model each; new fields get defaults)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

CHANNELS = ("in_app", "email", "sms", "chat", "push")
StepType = Literal[
    "in_app", "email", "sms", "chat", "push", "delay", "digest", "throttle", "custom", "trigger"
]

NOTIFICATION_WORKFLOW = "Notification"


def workflow_id(environment_id: str, transaction_id: str) -> str:
    """The Temporal workflow ID of a transaction: unique per environment, so environments never collide."""
    return f"{environment_id}:{transaction_id}"


# Activity names: workflows refer to activities only by name.
RESOLVE_RECIPIENTS = "resolve_recipients"
DELIVER_STEP = "deliver_step"
SEND_STEP = "send_step"
RECORD_DETAILS = "record_details"


class StepSpec(BaseModel):
    """One step, whichever way it was authored (Python code or Novu's step JSON)."""

    step_id: str
    type: StepType
    name: str | None = None
    active: bool = True
    should_stop_on_fail: bool = False
    filters: list[dict[str, Any]] = Field(default_factory=list)
    variants: list[dict[str, Any]] = Field(default_factory=list)
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


class ResumePoint(BaseModel):
    """Where a resumed run picks up: after ``after_step_id``, which returns ``result``."""

    after_step_id: str
    result: Any = None
    results: dict[str, Any] = Field(default_factory=dict)


class RunInput(BaseModel):
    """Input of the notification workflow started by ``POST /v1/events/trigger``."""

    context: DeliveryContext
    to: list[Any] = Field(default_factory=list)
    subscriber_ids: list[str] | None = None  # internal ids: set when recipients are already resolved
    resume: ResumePoint | None = None


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


class DeliverInput(BaseModel):
    context: DeliveryContext
    step: StepSpec
    subscriber_ids: list[str]
    digest: dict[str, Any] | None = None  # {"events": [...], "total_count": n} for steps after a digest
    results: dict[str, Any] = Field(default_factory=dict)


class DeliverResult(BaseModel):
    """Per-step outcome for a cohort: who got it, who was filtered (and why), who failed."""

    sent: list[str] = Field(default_factory=list)
    filtered: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)


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


class RecordDetailsInput(BaseModel):
    details: list[DetailRecord]
