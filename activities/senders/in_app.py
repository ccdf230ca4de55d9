"""The in-app inbox: a message row is the delivery."""

from __future__ import annotations

from activities.senders.base import Batch, Sender
from store.messages import record_messages
from workflows.details import Detail


class InAppSender(Sender):
    async def deliver(self, batch: Batch) -> None:
        rows = [batch.message_row(r, provider_id="novu") for r in batch.rendered]
        async with batch.db.session() as session:
            ids = await record_messages(db=batch.db, session=session, rows=rows)
        for r in batch.rendered:
            batch.result.sent.append(r.subscriber.id)
            batch.detail(r.subscriber.id, Detail.MESSAGE_CREATED, message_id=ids.get(r.subscriber.id))
