"""The in-app inbox: a message row is the delivery."""

from __future__ import annotations

from activities.senders.base import Batch, Sender
from store.messages import record_messages
from store.webhook_events import MESSAGE_SENT, emit_many
from tidings.metrics import MESSAGES


class InAppSender(Sender):
    async def deliver(self, batch: Batch) -> None:
        rows = [batch.message_row(r, provider_id="novu") for r in batch.rendered]
        async with batch.db.session() as session:
            ids = await record_messages(db=batch.db, session=session, rows=rows)
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
            batch.detail(r.subscriber.id, "Message created", message_id=ids.get(r.subscriber.id))
