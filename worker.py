"""The Tidings worker: wires activities with their dependencies and registers the workflows.

Run it with ``python worker.py`` or ``tidings worker``; settings come from ``TIDINGS_*`` variables.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.audience import AudienceActivities
from activities.custom import step_activities
from activities.delay import DelayActivities
from activities.delivery import DeliveryActivities
from activities.digest import DigestActivities
from activities.recipients import RecipientActivities
from activities.recurring import RecurringActivities
from activities.sandbox import Budget, SandboxPool
from activities.senders.registry import build_senders
from activities.throttle import ThrottleActivities
from activities.webhooks import WebhookActivities
from store.db import Database
from tidings import metrics, tracing
from tidings.health import HealthServer
from tidings.settings import Settings
from tidings.startup import wait_for_database, wait_for_temporal
from tidings.webhooks import WebhookDispatcher
from workflows.digest import DigestAccumulator
from workflows.fanout import CohortWorkflow, FanoutWorkflow
from workflows.notification import NotificationWorkflow
from workflows.scheduled import ScheduledTriggerWorkflow
from workflows.webhook import WebhookDeliveryWorkflow

log = logging.getLogger("tidings.worker")

#: Modules shared with the workflow sandbox instead of re-imported per run (pure, deterministic code).
# All of ``workflows`` is passed through: re-importing the engine for every new run cost ~18% of worker CPU
# (bench profile). Determinism of that code is kept by review, the before-stop check and the replay tests.
PASSTHROUGH = ("pydantic", "pydantic_core", "workflows", "opentelemetry")

WORKFLOWS: list[type] = [
    NotificationWorkflow,
    FanoutWorkflow,
    CohortWorkflow,
    DigestAccumulator,
    WebhookDeliveryWorkflow,
    ScheduledTriggerWorkflow,
]


def sandbox_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )


def build_activities(*, db: Database, settings: Settings, client: Client) -> list[Any]:
    """Every activity, bound to its dependencies. The one place activities are wired."""
    cipher = settings.credential_cipher()
    sandbox = SandboxPool(
        Budget(
            item_seconds=settings.render_timeout_seconds,
            call_seconds=settings.render_step_budget_seconds,
            memory_mb=settings.render_memory_mb,
            processes=settings.render_processes,
        )
    )
    senders = build_senders(
        sandbox=sandbox,
        cipher=cipher,
        base_urls=settings.provider_base_urls,
        attempts=settings.provider_attempts,
        backoff=settings.provider_backoff_seconds,
        timeout=settings.provider_timeout_seconds,
        allow_private=settings.allow_private_destinations,
        trusted_smtp=(settings.smtp_host, settings.smtp_port),
        smtp_login=(settings.smtp_user, settings.smtp_password),
        max_connections=settings.provider_max_connections,
        max_keepalive=settings.provider_max_keepalive,
        concurrency=settings.provider_concurrency,
    )
    delivery = DeliveryActivities(
        db=db, senders=senders, sandbox=sandbox, default_locale=settings.default_locale
    )
    recipients = RecipientActivities(db=db)
    audience = AudienceActivities(db=db)
    digest = DigestActivities(db=db, client=client)
    delay = DelayActivities(db=db, client=client)
    throttle = ThrottleActivities(db=db)
    webhooks = WebhookActivities(
        db=db,
        cipher=cipher,
        allow_private=settings.allow_private_destinations,
        timeout=settings.webhook_timeout_seconds,
        retry_initial=settings.webhook_retry_initial_seconds,
        retry_max=settings.webhook_retry_max_seconds,
    )
    recurring = RecurringActivities(db=db, client=client, settings=settings)
    return [
        recipients.resolve_recipients,
        audience.audience_page,
        audience.count_audience,
        delivery.deliver_step,
        delivery.check_conditions,
        delivery.record_details,
        digest.join_digest,
        digest.fire_digest,
        digest.record_digest_events,
        delay.local_wake_times,
        delay.start_resumed_runs,
        throttle.check_throttle,
        webhooks.send_webhook,
        webhooks.give_up_webhook,
        recurring.fire_schedule,
        *step_activities(),  # authors' custom-step activities (registered by catalog imports)
    ]


def webhook_dispatcher(*, client: Client, db: Database, settings: Settings) -> WebhookDispatcher:
    """Starts webhook deliveries after the commits that emitted them (installed on ``db``)."""
    return WebhookDispatcher(
        db=db,
        client=client,
        task_queue=settings.task_queue,
        give_up_seconds=settings.webhook_give_up_hours * 3600,
    ).install()


def build_worker(
    *, client: Client, db: Database, settings: Settings, task_queue: str | None = None
) -> Worker:
    webhook_dispatcher(client=client, db=db, settings=settings)
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(db=db, settings=settings, client=client),
        workflow_runner=sandbox_runner(),
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=2),
        # The SDK holds back heartbeats for up to 80 % of an activity's heartbeat timeout, leaving the server
        # 20 % of it to receive one; capped here, each beat of activities/heartbeat.py's timer (a third of
        # the timeout) goes out when it is made, and two thirds of the timeout are slack.
        max_heartbeat_throttle_interval=timedelta(seconds=5),
        max_cached_workflows=settings.worker_max_cached_workflows,
        max_concurrent_workflow_tasks=settings.worker_max_workflow_tasks or None,
        # Provider calls wait here (TIDINGS_WORKER_MAX_ACTIVITIES); waiting costs memory, not CPU.
        max_concurrent_activities=settings.worker_max_activities,
        # SQLite has one writer at a time: many concurrent local activities only queue on its lock.
        max_concurrent_local_activities=settings.local_activity_slots(db.is_sqlite),
        # On shutdown, running activities (a provider call in flight) get this long to finish before they
        # are cancelled; a send cut short would otherwise be recorded as "delivery unconfirmed".
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_grace),
    )


async def run_worker(settings: Settings) -> None:
    """Wait for the database and Temporal, poll until SIGTERM/SIGINT, then drain and return."""
    polling = False
    health = None
    if settings.worker_health_port:
        health = HealthServer(settings.worker_health_host, settings.worker_health_port, ready=lambda: polling)
        await health.start()
    db = Database(settings.resolved_database_url())
    relay: asyncio.Task[Any] | None = None
    runtime = None
    if settings.worker_sdk_metrics_port:
        runtime = metrics.sdk_runtime(host=settings.metrics_host, port=settings.worker_sdk_metrics_port)
    if settings.worker_metrics_port:
        metrics.serve(host=settings.metrics_host, port=settings.worker_metrics_port)
    traced = tracing.configure("tidings-worker")
    try:
        await wait_for_database(db, settings)
        client = await wait_for_temporal(
            settings, runtime=runtime, interceptors=tracing.temporal_interceptors(traced)
        )
        worker = build_worker(client=client, db=db, settings=settings)
        relay = asyncio.create_task(webhook_dispatcher(client=client, db=db, settings=settings).run_relay())
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        run = asyncio.create_task(worker.run())
        polling = True
        log.info("worker polling task queue %s at %s", settings.task_queue, settings.temporal_address)
        stop = asyncio.create_task(stopping.wait())
        await asyncio.wait([run, stop], return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not run.done():
            polling = False
            log.info(
                "stopping: no new tasks; waiting up to %.0fs for running activities",
                settings.worker_shutdown_grace,
            )
            await worker.shutdown()
        await run
        log.info("worker stopped")
    finally:
        if relay is not None:
            relay.cancel()
        if health is not None:
            await health.stop()
        await SandboxPool.close_all()
        await db.dispose()


def main() -> None:
    import sys

    from tidings.cli import main as cli

    sys.argv = [sys.argv[0], "worker"]
    cli()


if __name__ == "__main__":
    main()
