"""Durable delivery of one outbound webhook: one activity, retried with backoff until it succeeds or
``give_up_seconds`` (three days by default) pass. The activity decides each retry's delay, so the
backoff follows the settings of the worker running it; a 410 disables the endpoint and stops."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

WEBHOOK_DELIVERY_WORKFLOW = "WebhookDelivery"
SEND_WEBHOOK = "send_webhook"
GIVE_UP_WEBHOOK = "give_up_webhook"


class WebhookDeliveryInput(BaseModel):
    delivery_id: str
    event: str = ""
    give_up_seconds: float = 72 * 3600


class WebhookGiveUpInput(BaseModel):
    delivery_id: str
    reason: str


def delivery_workflow_id(delivery_id: str) -> str:
    return f"webhook:{delivery_id}"


@workflow.defn(name=WEBHOOK_DELIVERY_WORKFLOW)
class WebhookDeliveryWorkflow:
    @workflow.run
    async def run(self, request: WebhookDeliveryInput) -> str:
        try:
            return await workflow.execute_activity(
                SEND_WEBHOOK,
                request,
                result_type=str,
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=timedelta(seconds=request.give_up_seconds),
                # The activity sets each retry's delay (next_retry_delay); these are the fallbacks.
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=5), maximum_interval=timedelta(hours=1)
                ),
                summary=f"webhook · {request.event}" if request.event else None,
            )
        except ActivityError as exc:
            await workflow.execute_activity(
                GIVE_UP_WEBHOOK,
                WebhookGiveUpInput(delivery_id=request.delivery_id, reason=str(exc.cause or exc)),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
            )
            return "failed"
