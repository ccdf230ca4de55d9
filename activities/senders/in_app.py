"""The in-app inbox: a message row is the delivery."""

from __future__ import annotations

from activities.senders.base import Batch, Sender
from store.message_events import MessageChange, announce
from store.messages import record_messages
from store.webhook_events import MESSAGE_SENT, emit_many
from tidings.metrics import MESSAGES
from workflows.details import Detail


class InAppSender(Sender):
    async def deliver(self, batch: Batch) -> None:
        rows = [batch.message_row(r, provider_id="novu") for r in batch.rendered]
        async with batch.db.session() as session:
            ids = await record_messages(db=batch.db, session=session, rows=rows)
            # Announced in the same transaction: the Inbox sockets hear of exactly what commits. A retried
            # activity announces again; the API drops "created" events it already delivered.
            await announce(
                session=session,
                changes=[
                    MessageChange(batch.context.environment_id, sid, "created", [mid])
                    for sid, mid in ids.items()
                ],
            )
            await emit_many(
                session,
                environment_id=batch.context.environment_id,
                events=[
                    (MESSAGE_SENT, batch.message_event(r, ids.get(r.subscriber.id), "novu"))
                    for r in batch.rendered
                ],
            )
        MESSAGES.labels("in_app", "sent", "novu").inc(len(batch.rendered))
        for r in batch.rendered:
            batch.result.sent.append(r.subscriber.id)
            batch.detail(r.subscriber.id, Detail.MESSAGE_CREATED, message_id=ids.get(r.subscriber.id))
