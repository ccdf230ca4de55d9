"""The provider-backed sender every external channel shares: selection, failover, exactly-once.

Each message row is written as ``sending`` before the first provider call and marked ``sent`` (or
``error``) after it, keyed by (transaction, subscriber, step). A retried activity skips rows that are
settled; a row left ``sending`` (the worker died mid-call) is re-sent only through a provider that
de-duplicates on our idempotency key, otherwise it is marked ``warning`` (delivery unconfirmed) and not
re-sent. Transient provider errors are retried in the activity (``attempts`` tries with exponential
backoff, heartbeating), then the next integration is tried (email/sms); permanent errors stop there.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from opentelemetry import trace

from activities.heartbeat import beat
from activities.providers.base import Provider, ProviderError, SendResult
from activities.render import RenderError
from activities.senders.base import Batch, Rendered, Sender
from store.crypto import CredentialCipher
from store.db import utcnow
from store.integrations import active_integrations
from store.messages import existing_messages, record_messages, set_message_fields
from store.models import Integration, Message
from store.webhook_events import MESSAGE_FAILED, MESSAGE_SENT, emit
from tidings.metrics import MESSAGES, PROVIDER_ATTEMPTS, PROVIDER_FAILOVERS, SEND_SECONDS
from tidings.tracing import tracer
from workflows.details import Detail, DetailSource, DetailStatus

UNCONFIRMED = Detail.MESSAGE_DELIVERY_UNCONFIRMED
NO_INTEGRATION = Detail.SUBSCRIBER_NO_ACTIVE_INTEGRATION


class ProviderInFlight(Exception):
    """A provider that de-duplicates on our key is still processing an earlier request with it. The
    message stays ``sending`` on that integration and the activity fails, so Temporal retries it later
    with the same key; failing over instead could deliver a second copy."""


class MissingRecipient(Exception):
    """The subscriber lacks the address, token or webhook this channel needs (not a failure)."""

    def __init__(self, detail: str, missing: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.missing = missing


@dataclass
class Attempt:
    """One integration to send through, with the message built for it (provider overrides differ)."""

    integration: Integration
    provider: Provider[Any]
    message: Any
    credentials: dict[str, Any]


def channel_overrides(batch: Batch, channel: str, provider_id: str | None = None) -> dict[str, Any]:
    """``overrides.<channel>`` with ``overrides.<providerId>`` merged over it."""
    overrides = batch.context.overrides or {}
    merged = dict(overrides.get(channel) or {})
    if provider_id:
        merged.update(overrides.get(provider_id) or {})
    return merged


def idempotency_key(batch: Batch, subscriber_id: str) -> str:
    """Stable per (environment, transaction, subscriber, step): what providers de-duplicate on."""
    ctx = batch.context
    raw = f"{ctx.environment_id}|{ctx.transaction_id}|{subscriber_id}|{batch.request.step.step_id}"
    return "tidings-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


class ProviderSender(Sender, ABC):
    """Subclasses say how to pick integrations and build messages; this class sends and records."""

    channel: ClassVar[str]
    #: "failover": stop at the first integration that sends (email, sms); "fanout": send through all.
    mode: ClassVar[str] = "failover"

    def __init__(
        self,
        *,
        cipher: CredentialCipher,
        providers: dict[str, Provider[Any]],
        attempts: int = 3,
        backoff: float = 0.5,
        concurrency: int = 16,
    ) -> None:
        self.cipher = cipher
        # Decrypting once per credentials token, not once per subscriber and integration.
        self._decrypt = functools.lru_cache(maxsize=256)(cipher.decrypt)
        self.providers = providers
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.concurrency = concurrency

    # -- hooks -------------------------------------------------------------------------------------
    async def prepare(self, batch: Batch) -> Any:
        """Load what the whole batch shares (e.g. the email layout); handed to :meth:`plan`."""
        return None

    @abstractmethod
    def plan(self, batch: Batch, r: Rendered, integrations: list[Integration], shared: Any) -> list[Attempt]:
        """The integrations to send through, in order, each with its message.

        Raises :class:`MissingRecipient` when the subscriber cannot be reached on this channel.
        """

    def row_fields(self, batch: Batch, r: Rendered, attempts: list[Attempt]) -> dict[str, Any]:
        return {}

    async def after_send(
        self,
        batch: Batch,
        r: Rendered,
        message_id: str,
        attempt: Attempt,
        outcome: SendResult | ProviderError,
    ) -> None:
        """Called after each integration's send, whatever its outcome (push removes dead tokens here)."""

    # -- shared machinery --------------------------------------------------------------------------
    def attempt(self, integration: Integration, message: Any) -> Attempt | None:
        provider = self.providers.get(integration.provider_id)
        if provider is None:
            return None
        return Attempt(integration, provider, message, self.credentials(integration))

    def credentials(self, integration: Integration) -> dict[str, Any]:
        return dict(self._decrypt(integration.credentials_encrypted))

    async def deliver(self, batch: Batch) -> None:
        if not batch.rendered:
            return
        ctx, step = batch.context, batch.request.step
        async with batch.db.read() as session:  # reads only: no SQLite write lock (see deliver_step)
            done = await existing_messages(
                session=session,
                environment_id=ctx.environment_id,
                transaction_id=ctx.transaction_id,
                step_id=step.step_id,
                subscriber_ids=[r.subscriber.id for r in batch.rendered],
            )
            integrations = await active_integrations(
                session=session, environment_id=ctx.environment_id, channel=self.channel
            )
        shared = await self.prepare(batch)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(r: Rendered) -> None:
            async with gate:
                await self.deliver_one(batch, r, done.get(r.subscriber.id), integrations, shared)

        outcomes = await asyncio.gather(*(one(r) for r in batch.rendered), return_exceptions=True)
        for outcome in outcomes:  # every subscriber was handled first: the others' rows are settled
            if isinstance(outcome, BaseException):
                raise outcome

    async def deliver_one(
        self,
        batch: Batch,
        r: Rendered,
        existing: Message | None,
        integrations: list[Integration],
        shared: Any,
    ) -> None:
        sid, result = r.subscriber.id, batch.result
        if existing is not None and existing.status != "sending":
            # Settled by an earlier attempt of this activity: never send twice.
            (result.failed if existing.status == "error" else result.sent).append(sid)
            return
        try:
            attempts = self.plan(batch, r, integrations, shared)
        except MissingRecipient as missing:
            result.filtered.append(sid)
            batch.detail(sid, missing.detail, DetailStatus.WARNING, raw={"missing": missing.missing})
            return
        except RenderError as exc:
            result.failed.append(sid)
            batch.detail(
                sid,
                Detail.MESSAGE_CONTENT_NOT_GENERATED,
                DetailStatus.FAILED,
                DetailSource.PAYLOAD,
                raw={"error": str(exc)},
            )
            return
        if not attempts:
            result.failed.append(sid)
            batch.detail(sid, NO_INTEGRATION, DetailStatus.FAILED)
            return
        if existing is None:
            first = attempts[0].integration
            row = batch.message_row(
                r,
                status="sending",
                provider_id=first.provider_id,
                integration_id=first.id,
                **self.row_fields(batch, r, attempts),
            )
            async with batch.db.session() as session:
                message_id = (await record_messages(db=batch.db, session=session, rows=[row]))[sid]
        else:
            message_id = existing.id
            attempts = self.resumable(attempts, existing)
            if not attempts:
                await self.settle(
                    batch, message_id, "warning", error="worker stopped during the provider call"
                )
                result.sent.append(sid)
                batch.detail(
                    sid,
                    UNCONFIRMED,
                    DetailStatus.WARNING,
                    message_id=message_id,
                    raw={
                        "providerId": existing.provider_id,
                        "reason": "not re-sent: provider cannot de-duplicate",
                    },
                )
                return
        await self.send_all(batch, r, message_id, attempts)

    def resumable(self, attempts: list[Attempt], existing: Message) -> list[Attempt]:
        """After a crash mid-call: resume only through providers that de-duplicate on our key."""
        if self.mode == "fanout":
            return attempts if all(a.provider.idempotent for a in attempts) else []
        previous = [a for a in attempts if a.integration.id == existing.integration_id]
        if not previous or not previous[0].provider.idempotent:
            return []
        return previous + [a for a in attempts if a is not previous[0]]

    async def send_all(self, batch: Batch, r: Rendered, message_id: str, attempts: list[Attempt]) -> None:
        sid = r.subscriber.id
        sent: list[tuple[Attempt, SendResult]] = []
        last_error: ProviderError | None = None
        tried: Integration | None = None
        for index, attempt in enumerate(attempts):
            integ = tried = attempt.integration
            if index and self.mode == "failover":
                PROVIDER_FAILOVERS.labels(self.channel).inc()
                await self.settle(batch, message_id, "sending", integration=integ)
            batch.detail(
                sid,
                Detail.INTEGRATION_INSTANCE_SELECTED,
                message_id=message_id,
                raw={"providerId": integ.provider_id, "identifier": integ.identifier},
            )
            outcome = await self.try_integration(batch, sid, message_id, attempt)
            await self.after_send(batch, r, message_id, attempt, outcome)
            if isinstance(outcome, SendResult):
                sent.append((attempt, outcome))
                if self.mode == "failover":
                    break
                continue
            last_error = outcome
            if outcome.in_flight:
                raise ProviderInFlight(
                    f"{integ.provider_id} is still processing an earlier request for this message"
                )
            if outcome.permanent and self.mode == "failover":
                break  # invalid recipient or rejected credentials: another provider would not help
        if sent:
            attempt, outcome = sent[0]
            await self.settle(
                batch,
                message_id,
                "sent",
                integration=attempt.integration,
                provider_message_id=outcome.provider_message_id,
                event=(MESSAGE_SENT, batch.message_event(r, message_id, attempt.integration.provider_id)),
            )
            batch.result.sent.append(sid)
            MESSAGES.labels(self.channel, "sent", attempt.integration.provider_id).inc()
            batch.detail(
                sid,
                Detail.MESSAGE_SENT,
                message_id=message_id,
                raw={
                    "providerIds": [a.integration.provider_id for a, _ in sent],
                    "failed": len(attempts) - len(sent),
                },
            )
            return
        error = str(last_error) if last_error else "no provider accepted the message"
        provider = tried.provider_id if tried is not None else None
        failed = batch.message_event(r, message_id, provider, error=error[:500])
        await self.settle(batch, message_id, "error", error=error, event=(MESSAGE_FAILED, failed))
        batch.result.failed.append(sid)
        MESSAGES.labels(self.channel, "error", provider or "none").inc()
        batch.detail(
            sid,
            Detail.CHAT_ALL_CHANNELS_FAILED if self.channel == "chat" else Detail.PROVIDER_ERROR,
            DetailStatus.FAILED,
            DetailSource.CREDENTIALS
            if last_error is not None and last_error.permanent
            else DetailSource.INTERNAL,
            message_id=message_id,
            raw={"error": error},
        )

    async def try_integration(
        self, batch: Batch, sid: str, message_id: str, attempt: Attempt
    ) -> SendResult | ProviderError:
        """Up to ``attempts`` tries with exponential backoff; every failed try is an execution detail."""
        integ = attempt.integration
        error: ProviderError = ProviderError("not attempted", permanent=False)
        for n in range(1, self.attempts + 1):
            beat(sid, integ.provider_id, n)
            started = time.monotonic()
            span = tracer.start_span(f"provider {integ.provider_id}", attributes={"tidings.attempt": n})
            try:
                with trace.use_span(span, end_on_exit=True):
                    sent = await attempt.provider.send(attempt.message, attempt.credentials)
            except ProviderError as exc:
                error = exc
            else:
                PROVIDER_ATTEMPTS.labels(integ.provider_id, "success").inc()
                return sent
            finally:
                SEND_SECONDS.labels(integ.provider_id).observe(time.monotonic() - started)
            PROVIDER_ATTEMPTS.labels(integ.provider_id, "permanent" if error.permanent else "transient").inc()
            batch.detail(
                sid,
                Detail.PROVIDER_ERROR,
                DetailStatus.FAILED if error.permanent else DetailStatus.WARNING,
                DetailSource.CREDENTIALS if error.permanent else DetailSource.INTERNAL,
                message_id=message_id,
                raw={
                    "providerId": integ.provider_id,
                    "identifier": integ.identifier,
                    "attempt": n,
                    "outcome": "permanent" if error.permanent else "transient",
                    "error": str(error),
                },
            )
            if error.permanent:
                return error
            if n < self.attempts:
                await asyncio.sleep(self.backoff * 2 ** (n - 1))
        return error

    async def settle(
        self,
        batch: Batch,
        message_id: str,
        status: str,
        *,
        integration: Integration | None = None,
        provider_message_id: str | None = None,
        error: str | None = None,
        event: tuple[str, dict[str, Any]] | None = None,
    ) -> None:
        """Set the message's status; ``event`` is emitted as a webhook in the same transaction."""
        values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
        if integration is not None:
            values.update(provider_id=integration.provider_id, integration_id=integration.id)
        if provider_message_id is not None:
            values["provider_message_id"] = provider_message_id
        if error is not None:
            values["error_text"] = error[:500]
        async with batch.db.session() as session:
            await set_message_fields(session=session, message_id=message_id, values=values)
            if event is not None:
                await emit(
                    session, environment_id=batch.context.environment_id, event=event[0], data=event[1]
                )
