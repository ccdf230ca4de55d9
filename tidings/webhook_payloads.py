"""The ``data`` of outbound webhook events: the wire documents a webhook consumer receives, in one room.

They are built where the change happens, in its transaction (``store.webhook_events.emit`` writes them to
the outbox): by routers (``subscriber.*``, ``workflow.*``), by the worker's senders and delivery activities
(``message.sent|failed``, ``workflow.completed``) and by the store's one path for message state changes
(``message.seen|read|archived``, ``store/message_events.py``). Activities may not import ``api/`` and
``store/`` returns rows, so the shapes live here. This module imports nothing of the project at run time,
so every layer can use it without an import cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from store.models import Subscriber, WorkflowDefinition
    from workflows.models import TransactionCompleted


def message_data(
    *,
    message_id: str | None,
    transaction_id: str,
    subscriber_id: str,
    workflow: str | None,
    step_id: str | None,
    channel: str | None,
    provider_id: str | None,
    **extra: Any,
) -> dict[str, Any]:
    """What ``message.*`` events carry: the ids a consumer joins on (``subscriberId`` is the tenant's)."""
    return {
        "_id": message_id,
        "transactionId": transaction_id,
        "subscriberId": subscriber_id,
        "workflowId": workflow,
        "stepId": step_id,
        "channel": channel,
        "providerId": provider_id,
        **extra,
    }


def subscriber_data(sub: Subscriber) -> dict[str, Any]:
    """What ``subscriber.*`` events carry: the ids a consumer joins on."""
    return {"subscriberId": sub.subscriber_id, "_id": sub.id}


def workflow_data(row: WorkflowDefinition, identifier: str | None = None) -> dict[str, Any]:
    """What ``workflow.*`` events carry: the definition's ``_id`` and trigger identifier."""
    return {"_id": row.id, "workflowId": identifier or row.trigger_identifier, "name": row.name}


def workflow_completed_data(done: TransactionCompleted) -> dict[str, Any]:
    """What ``workflow.completed`` carries: the transaction's outcome and its counts, in total and by step."""
    counts = {"sent": 0, "failed": 0, "filtered": 0}
    for step_counts in done.steps.values():
        for key in counts:
            counts[key] += step_counts.get(key, 0)
    return {
        "transactionId": done.transaction_id,
        "workflowId": done.workflow,
        "status": done.status,
        "subscribers": done.subscribers,
        "counts": counts,
        "steps": done.steps,
        "resumed": done.resumed,
    }
