"""The activity feed's documents (``/v1/notifications``): a notification with its jobs and execution
details, and the sent counts and daily graph of the stats routes."""

from __future__ import annotations

import json
from typing import Any

from api.wire import compact
from store.db import iso
from store.models import ExecutionDetail, Notification, Subscriber, WorkflowDefinition
from store.stats import DayActivity, SentCounts
from tidings.settings import Settings
from workflows.models import execution_id


def detail_view(d: ExecutionDetail, organization_id: str) -> dict[str, Any]:
    return compact(
        {
            "_id": d.id,
            "_organizationId": organization_id,
            "_jobId": f"{d.transaction_id}:{d.step_id}" if d.step_id else None,
            "_environmentId": d.environment_id,
            "_notificationId": d.notification_id,
            "_notificationTemplateId": d.workflow_id,
            "_subscriberId": d.subscriber_id,
            "_messageId": d.message_id,
            "providerId": d.provider_id,
            "transactionId": d.transaction_id,
            "channel": d.channel,
            "detail": d.detail,
            "source": d.source,
            "status": d.status,
            "isTest": d.is_test,
            "isRetry": d.is_retry,
            "raw": d.raw if d.raw is None or isinstance(d.raw, str) else json.dumps(d.raw),
            "createdAt": iso(d.created_at),
        }
    )


def jobs_view(details: list[ExecutionDetail], organization_id: str) -> list[dict[str, Any]]:
    """One job per step, holding that step's execution details (Novu's job ≈ our step for a subscriber)."""
    jobs: dict[str, dict[str, Any]] = {}
    for d in details:
        if d.step_id is None:
            continue
        job = jobs.setdefault(
            d.step_id,
            {
                "_id": f"{d.transaction_id}:{d.step_id}",
                "type": d.channel,
                "executionDetails": [],
                "step": {"_id": d.step_id, "active": True},
                "status": "completed",
            },
        )
        job["executionDetails"].append(detail_view(d, organization_id))
        if d.provider_id:
            job["providerId"] = d.provider_id
        if d.status == "Failed":
            job["status"] = "failed"
    return list(jobs.values())


def notification_view(
    n: Notification,
    organization_id: str,
    sub: Subscriber | None,
    template: WorkflowDefinition | None,
    details: list[ExecutionDetail],
    settings: Settings | None = None,
) -> dict[str, Any]:
    temporal_url = (
        settings.temporal_execution_url(execution_id(n.environment_id, n.transaction_id))
        if settings
        else None
    )
    return compact(
        {
            "_id": n.id,
            "_environmentId": n.environment_id,
            "_organizationId": organization_id,
            "_templateId": n.workflow_id,
            "_subscriberId": n.subscriber_id,
            "transactionId": n.transaction_id,
            "createdAt": iso(n.created_at),
            "channels": n.channels or [],
            "payload": n.payload or {},
            "tags": n.tags or [],
            "subscriber": compact(
                {
                    "_id": sub.id,
                    "subscriberId": sub.subscriber_id,
                    "firstName": sub.first_name,
                    "lastName": sub.last_name,
                    "email": sub.email,
                    "phone": sub.phone,
                }
            )
            if sub
            else None,
            "template": {"_id": template.id, "name": template.name, "triggers": template.triggers or []}
            if template
            else None,
            "jobs": jobs_view(details, organization_id),
            "temporalUrl": temporal_url,
        }
    )


def stats_view(counts: SentCounts) -> dict[str, int]:
    """Novu's ``ActivityStatsResponseDto``."""
    return {"weeklySent": counts.weekly, "monthlySent": counts.monthly}


def graph_view(days: list[DayActivity]) -> list[dict[str, Any]]:
    """Novu's ``ActivityGraphStatesResponse`` per day: ``templates`` are the workflow definitions' ids."""
    return [
        {"_id": d.day, "count": d.count, "templates": d.definition_ids, "channels": d.channels} for d in days
    ]
