"""Email: the environment's primary email integration, through its provider adapter."""

from __future__ import annotations

from sqlmodel import col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.providers.base import EmailMessage, EmailProvider, ProviderError
from activities.senders.base import Batch, Sender
from store.crypto import CredentialCipher
from store.messages import existing_messages, record_messages
from store.models import Integration


class EmailSender(Sender):
    def __init__(self, *, cipher: CredentialCipher, providers: dict[str, EmailProvider]) -> None:
        self.cipher = cipher
        self.providers = providers

    async def integration(self, batch: Batch) -> Integration | None:
        async with batch.db.session() as session:
            stmt = (
                select(Integration)
                .where(
                    Integration.environment_id == batch.context.environment_id,
                    Integration.channel == "email",
                    col(Integration.active).is_(True),
                    col(Integration.deleted).is_(False),
                )
                .order_by(col(Integration.primary).desc(), col(Integration.priority).desc())
            )
            return (await session.exec(stmt)).first()

    async def deliver(self, batch: Batch) -> None:
        ctx, step, result = batch.context, batch.request.step, batch.result
        if not batch.rendered:
            return
        async with batch.db.session() as session:
            done = await existing_messages(
                session=session,
                environment_id=ctx.environment_id,
                transaction_id=ctx.transaction_id,
                step_id=step.step_id,
                subscriber_ids=[r.subscriber.id for r in batch.rendered],
            )
        integration = await self.integration(batch)
        for r in batch.rendered:
            sid = r.subscriber.id
            if sid in done and done[sid].status == "sent":
                result.sent.append(sid)  # recorded by an earlier attempt: never send twice
                continue
            if not r.subscriber.email:
                result.filtered.append(sid)
                batch.detail(sid, "Subscriber missing recipient details", "Warning", raw={"missing": "email"})
                continue
            if integration is None or integration.provider_id not in self.providers:
                result.failed.append(sid)
                batch.detail(sid, "Subscriber does not have an active integration", "Failed")
                continue
            message = EmailMessage(
                to=[r.subscriber.email],
                subject=r.subject or "",
                html=str(r.content),
                idempotency_key=f"{ctx.transaction_id}-{sid}-{step.step_id}",
            )
            activity.heartbeat(sid)
            try:
                sent = await self.providers[integration.provider_id].send(
                    message, self.cipher.decrypt(integration.credentials_encrypted)
                )
            except ProviderError as exc:
                if not exc.permanent:
                    raise ApplicationError(f"{integration.provider_id}: {exc}") from exc
                result.failed.append(sid)
                batch.detail(
                    sid, "Unexpected provider error", "Failed", "Credentials", raw={"error": str(exc)}
                )
                continue
            row = batch.message_row(
                r,
                provider_id=integration.provider_id,
                integration_id=integration.id,
                email=r.subscriber.email,
                provider_message_id=sent.provider_message_id,
            )
            async with batch.db.session() as session:
                ids = await record_messages(db=batch.db, session=session, rows=[row])
            result.sent.append(sid)
            batch.detail(
                sid, "Message sent", message_id=ids.get(sid), raw={"providerId": integration.provider_id}
            )
