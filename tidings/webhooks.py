"""Starting webhook deliveries: after the commit that wrote the outbox rows, and from the relay that
finds rows whose start was lost (the process died between the commit and the start)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from store.db import Database, utcnow
from store.webhook_events import OUTBOX
from store.webhooks import delivery_events, mark_dispatched, undispatched
from workflows.webhook import WEBHOOK_DELIVERY_WORKFLOW, WebhookDeliveryInput, delivery_workflow_id

log = logging.getLogger("tidings.webhooks")

#: Workflow starts in flight at once when a transaction emitted many events.
START_CONCURRENCY = 16


class WebhookDispatcher:
    """Starts one ``WebhookDelivery`` workflow per outbox row; install with :meth:`install`."""

    def __init__(self, *, db: Database, client: Client, task_queue: str, give_up_seconds: float) -> None:
        self.db = db
        self.client = client
        self.task_queue = task_queue
        self.give_up_seconds = give_up_seconds

    def install(self) -> WebhookDispatcher:
        self.db.after_commit = self.after_commit
        return self

    async def after_commit(self, info: dict[str, Any]) -> None:
        ids = info.pop(OUTBOX, None)
        if ids:
            await self.dispatch(list(ids))

    async def dispatch(self, ids: list[str]) -> int:
        """Start the delivery workflows; a failed start is left for the relay. Never raises."""
        gate = asyncio.Semaphore(START_CONCURRENCY)
        async with self.db.session() as session:
            events = await delivery_events(session=session, ids=ids)

        async def start(delivery_id: str) -> str | None:
            async with gate:
                try:
                    await self.client.start_workflow(
                        WEBHOOK_DELIVERY_WORKFLOW,
                        WebhookDeliveryInput(
                            delivery_id=delivery_id,
                            event=events.get(delivery_id, ""),
                            give_up_seconds=self.give_up_seconds,
                        ),
                        id=delivery_workflow_id(delivery_id),
                        task_queue=self.task_queue,
                        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                        static_summary=f"webhook · {events.get(delivery_id, '')}",
                    )
                except Exception as exc:  # noqa: BLE001 - the relay retries; the change is committed
                    log.warning("webhook delivery %s not started yet: %s", delivery_id, type(exc).__name__)
                    return None
                return delivery_id

        started = [i for i in await asyncio.gather(*(start(i) for i in events)) if i is not None]
        if started:
            try:
                async with self.db.session() as session:
                    await mark_dispatched(session=session, ids=started)
            except Exception as exc:  # noqa: BLE001 - the relay would start them again: harmless
                log.warning("could not mark webhook deliveries dispatched: %s", type(exc).__name__)
        return len(started)

    async def relay(self, *, older_than: timedelta = timedelta(seconds=30), limit: int = 500) -> int:
        """Start deliveries written more than ``older_than`` ago whose workflow never started."""
        async with self.db.session() as session:
            ids = await undispatched(session=session, before=utcnow() - older_than, limit=limit)
        return await self.dispatch(ids) if ids else 0

    async def run_relay(self, *, interval: float = 15.0) -> None:
        """The outbox relay loop (the worker runs it until cancelled)."""
        while True:
            try:
                await self.relay()
            except Exception:  # keep relaying; the database may be back next round
                log.exception("webhook outbox relay failed")
            await asyncio.sleep(interval)
