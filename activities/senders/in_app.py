"""The in-app inbox: a message row is the delivery."""

from __future__ import annotations

from activities.senders.base import Batch, Sender
from store.message_events import MessageChange, announce
from store.messages import record_messages


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
        for r in batch.rendered:
            batch.result.sent.append(r.subscriber.id)
            batch.detail(r.subscriber.id, "Message created", message_id=ids.get(r.subscriber.id))
