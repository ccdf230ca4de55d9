"""Execution details: Novu's vocabulary (``DetailEnum``, status, source) and the one builder of a detail.

Texts are Novu's where Novu has one (``libs/application-generic`` ``DetailEnum``, including its trailing
space in ``Layout not found ``), so the activity feed reads the same; Tidings' own steps (throttle, custom
steps, fan-out cohorts) add a few. Workflows hand details to :func:`record_details` (one local activity);
activities write :func:`detail_row` dicts with their own database writes. Workflow-safe: no I/O here.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import retries
    from workflows.models import (
        RECORD_DETAILS,
        DeliveryContext,
        DetailRecord,
        RecordDetailsInput,
        TransactionCompleted,
    )


class DetailStatus(StrEnum):
    SUCCESS = "Success"
    WARNING = "Warning"
    FAILED = "Failed"
    PENDING = "Pending"
    QUEUED = "Queued"
    READ_CONFIRMATION = "ReadConfirmation"


class DetailSource(StrEnum):
    CREDENTIALS = "Credentials"
    INTERNAL = "Internal"
    PAYLOAD = "Payload"
    WEBHOOK = "Webhook"


class Detail(StrEnum):
    # Novu's DetailEnum texts.
    CHAT_ALL_CHANNELS_FAILED = "All chat channels failed to send the message"
    STEP_DELAYED = "Step delayed"
    STEP_DIGESTED = "Step digested"
    MESSAGE_CONTENT_NOT_GENERATED = "Message content could not be generated"
    MESSAGE_CREATED = "Message created"
    SUBSCRIBER_NO_ACTIVE_INTEGRATION = "Subscriber does not have an active integration"
    LAYOUT_NOT_FOUND = "Layout not found "
    INTEGRATION_INSTANCE_SELECTED = "Integration instance selected"
    SUBSCRIBER_NO_CHANNEL_DETAILS = "Subscriber missing recipient details"
    SUBSCRIBER_NO_ACTIVE_CHANNEL = "Subscriber does not have a configured channel"
    MESSAGE_SENT = "Message sent"
    PROVIDER_ERROR = "Unexpected provider error"
    FILTER_STEPS = "Step was filtered based on steps filters"
    DIGEST_TRIGGERED_EVENTS = "Digest triggered events"
    STEP_FILTERED_BY_SUBSCRIBER_WORKFLOW_PREFERENCES = "Step filtered by subscriber workflow preferences"
    STEP_FILTERED_BY_SUBSCRIBER_GLOBAL_PREFERENCES = "Step filtered by subscriber global preferences"
    DIGEST_MERGED = "Digest was merged with other digest"
    DIGEST_SKIPPED = "Digest was skipped, first backoff event"
    DELAY_FINISHED = "Delay is finished"
    PUSH_MISSING_DEVICE_TOKENS = (
        "Subscriber credentials is missing the tokens for sending a push notification message"
    )
    VARIANT_CHOSEN = "Variant was chosen by the provided condition criteria"
    DELAY_MISCONFIGURATION = "Invalid delay configuration"
    # Tidings' own.
    MESSAGE_DELIVERY_UNCONFIRMED = "Message delivery unconfirmed"
    STEP_THROTTLED = "Step throttled: execution limit reached for the window"
    THROTTLE_MISCONFIGURATION = "Invalid throttle configuration"
    CUSTOM_STEP_FAILED = "Custom step failed"
    DIGEST_EVENTS_TRUNCATED = "Digest events truncated"
    FANOUT_STARTED = "Fan-out started"
    FANOUT_FINISHED = "Fan-out finished"
    FANOUT_CANCELLED = "Fan-out cancelled"
    COHORT_PROCESSED = "Cohort processed"
    COHORT_FAILED = "Cohort failed"


def detail_row(
    ctx: DeliveryContext,
    detail: str,
    *,
    status: str = DetailStatus.SUCCESS,
    source: str = DetailSource.INTERNAL,
    subscriber_id: str | None = None,
    step_id: str | None = None,
    channel: str | None = None,
    raw: Any = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    """One execution detail of ``ctx``'s transaction, as the row written to the database."""
    return {
        "environment_id": ctx.environment_id,
        "transaction_id": ctx.transaction_id,
        "workflow_id": ctx.workflow.id,
        "subscriber_id": subscriber_id,
        "step_id": step_id,
        "channel": channel,
        "detail": str(detail),
        "status": str(status),
        "source": str(source),
        "raw": raw,
        "message_id": message_id,
    }


def detail_record(
    ctx: DeliveryContext,
    detail: str,
    *,
    status: str = DetailStatus.SUCCESS,
    source: str = DetailSource.INTERNAL,
    subscriber_id: str | None = None,
    step_id: str | None = None,
    channel: str | None = None,
    raw: Any = None,
) -> DetailRecord:
    """The same detail as the model a workflow hands to :func:`record_details`."""
    row = detail_row(
        ctx, detail, status=status, source=source, subscriber_id=subscriber_id, step_id=step_id,
        channel=channel, raw=raw,
    )  # fmt: skip
    return DetailRecord(**{name: row[name] for name in DetailRecord.model_fields})


#: Versions the ``workflow.completed`` hand-over, so executions recorded before it still replay.
COMPLETED_PATCH = "webhook-workflow-completed"


async def record_details(details: list[DetailRecord], completed: TransactionCompleted | None = None) -> None:
    """Write details queued by a workflow (one local activity; nothing when there are none); with
    ``completed``, the same activity emits ``workflow.completed`` (outbound webhooks)."""
    if completed is not None and not workflow.patched(COMPLETED_PATCH):
        completed = None
    if details or completed is not None:
        await workflow.execute_local_activity(
            RECORD_DETAILS,
            RecordDetailsInput(details=details, completed=completed),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=retries.DATABASE,
        )
