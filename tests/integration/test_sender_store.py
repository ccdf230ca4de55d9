"""The exactly-once sender (``activities/senders/channel.py``) on real PostgreSQL and provider fakes on
loopback, without Temporal: the fast test selection ``make mutation`` runs against it.

Each test drives ``ProviderSender.deliver`` as the delivery activity does (a retried activity is a second
``deliver`` of the same batch) and checks the message row, the provider's requests, what the provider
acted on (``fake.delivered``) and the execution details, each counted on its own.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY
from sqlalchemy import text

from activities.providers.base import EmailMessage, EmailProvider, Provider, ProviderError, SendResult
from activities.providers.email_http import ResendProvider, SendGridProvider
from activities.providers.sms import TwilioProvider
from activities.render import RenderError
from activities.senders import channel as channel_module
from activities.senders.base import Batch, Rendered
from activities.senders.channel import (
    Attempt,
    ProviderInFlight,
    ProviderSender,
    as_list,
    channel_overrides,
    idempotency_key,
)
from activities.senders.selection import failover_order
from activities.senders.sms import SmsSender
from store.crypto import CredentialCipher
from store.db import Database
from store.models import Environment, Integration, Organization, Subscriber, WebhookEndpoint
from tests.fakes.fixtures import fake_fixture, http_fakes_fixture  # noqa: F401  (fixtures)
from tests.fakes.http_api import FakeHttpProviders
from tests.support import eventually
from workflows.details import Detail, DetailSource, DetailStatus
from workflows.models import DeliverInput, DeliverResult, DeliveryContext, StepSpec, WorkflowSnapshot

CIPHER = CredentialCipher("sender-store-test-secret")


class MailSender(ProviderSender):
    """Email without layouts (the email sender's layout rendering needs the template sandbox): the
    shared machinery under test is the same."""

    channel: ClassVar[str] = "email"

    def plan(self, batch: Batch, r: Rendered, integrations: list[Integration], shared: Any) -> list[Attempt]:
        attempts = []
        for integration in failover_order(integrations, tenant=None, identifier=None):
            message = EmailMessage(
                to=[str(r.subscriber.email)],
                subject=r.subject or "",
                html=str(r.content),
                idempotency_key=idempotency_key(batch, r.subscriber.id),
            )
            attempt = self.attempt(integration, message)
            if attempt is not None:
                attempts.append(attempt)
        return attempts


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[Database]:
    database = Database(pg_url)
    yield database
    await database.dispose()


class Setup:
    def __init__(self, db: Database, fake: FakeHttpProviders) -> None:
        self.db = db
        self.fake = fake
        self.org = Organization(name="org")
        self.env = Environment(
            organization_id=self.org.id, name="env", identifier=f"env-{secrets.token_hex(4)}"
        )
        self.subscriber = Subscriber(
            environment_id=self.env.id, subscriber_id="ada", phone="+15550001", email="ada@example.com"
        )
        self.details: list[tuple[str, str, tuple[Any, ...], dict[str, Any]]] = []
        urls = {p: fake.url for p in ("twilio", "resend", "sendgrid")}
        self.providers: dict[str, Provider[Any]] = {
            "twilio": TwilioProvider(allow_private=True, base_urls=urls),
            "resend": ResendProvider(allow_private=True, base_urls=urls),
            "sendgrid": SendGridProvider(allow_private=True, base_urls=urls),
        }

    async def create(self) -> None:
        async with self.db.session() as session:
            session.add(self.org)
            await session.flush()
            session.add(self.env)
            await session.flush()
            session.add(self.subscriber)

    async def integration(
        self, provider_id: str, channel: str, credentials: dict[str, Any], **fields: Any
    ) -> Integration:
        row = Integration(
            organization_id=self.org.id,
            environment_id=self.env.id,
            name=provider_id,
            identifier=f"{provider_id}-{secrets.token_hex(3)}",
            provider_id=provider_id,
            channel=channel,
            credentials_encrypted=CIPHER.encrypt(credentials),
            **fields,
        )
        async with self.db.session() as session:
            session.add(row)
        return row

    def sender(self, cls: type[ProviderSender] = SmsSender, attempts: int = 3) -> ProviderSender:
        return cls(cipher=CIPHER, providers=self.providers, attempts=attempts, backoff=0)

    def batch(self, channel: str = "sms", tx: str = "tx-1") -> Batch:
        ctx = DeliveryContext(
            environment_id=self.env.id,
            organization_id=self.org.id,
            transaction_id=tx,
            workflow=WorkflowSnapshot(id="wf", identifier="wf", name="wf"),
        )
        step = StepSpec(step_id="step-1", type=channel)  # type: ignore[arg-type]
        return Batch(
            db=self.db,
            context=ctx,
            request=DeliverInput(context=ctx, step=step, subscriber_ids=[self.subscriber.id]),
            rendered=[Rendered(subscriber=self.subscriber, content="Hello", subject="Hi")],
            notifications={},
            result=DeliverResult(),
            detail=lambda sid, detail, *args, **kwargs: self.details.append((sid, detail, args, kwargs)),
        )

    async def row(self) -> tuple[str, str | None, str | None]:
        async with self.db.session() as session:
            rows = (
                await session.exec(  # type: ignore[call-overload]
                    text(
                        "select status, integration_id, provider_id from messages where environment_id = :e"
                    ).bindparams(e=self.env.id)
                )
            ).all()
        assert len(rows) == 1, rows
        return tuple(rows[0])  # type: ignore[return-value]

    async def set_status(self, status: str) -> None:
        async with self.db.session() as session:
            await session.exec(  # type: ignore[call-overload]
                text("update messages set status = :s where environment_id = :e").bindparams(
                    s=status, e=self.env.id
                )
            )

    async def db_value(self, sql: str) -> Any:
        """The one value ``sql`` selects for this test's environment (bound as ``:e``)."""
        async with self.db.session() as session:
            return (await session.exec(text(sql).bindparams(e=self.env.id))).one()[0]  # type: ignore[call-overload]

    def named(self, detail: str) -> list[tuple[str, str, tuple[Any, ...], dict[str, Any]]]:
        return [d for d in self.details if d[1] == detail]


@pytest.fixture
async def setup(db: Database, fake: FakeHttpProviders) -> Setup:
    s = Setup(db, fake)
    await s.create()
    return s


def twilio(sid: str) -> dict[str, Any]:
    return {"accountSid": sid, "token": "t", "from": "+1555"}


MAIL = {"apiKey": "k", "from": "team@acme.io"}


async def test_transient_errors_are_retried_then_fail_over_once(setup: Setup) -> None:
    await setup.integration("twilio", "sms", twilio("ACfirst"), primary=True)
    second = await setup.integration("twilio", "sms", twilio("ACsecond"))
    setup.fake.fail("ACfirst", 503, times=3)
    batch = setup.batch()
    await setup.sender(attempts=3).deliver(batch)
    assert len(setup.fake.to("ACfirst")) == 3  # every attempt of the activity, no more
    assert len(setup.fake.to("ACsecond")) == 1
    assert len(setup.fake.delivered) == 1
    assert await setup.row() == ("sent", second.id, "twilio")
    assert batch.result.sent == [setup.subscriber.id] and batch.result.failed == []
    tries = [d[3]["raw"] for d in setup.named(Detail.PROVIDER_ERROR)]
    assert [(t["attempt"], t["outcome"]) for t in tries] == [
        (1, "transient"),
        (2, "transient"),
        (3, "transient"),
    ]
    sent = setup.named(Detail.MESSAGE_SENT)
    assert [d[3]["raw"] for d in sent] == [{"providerIds": ["twilio"], "failed": 1}]


async def test_a_permanent_error_is_neither_retried_nor_failed_over(setup: Setup) -> None:
    first = await setup.integration("twilio", "sms", twilio("ACfirst"), primary=True)
    await setup.integration("twilio", "sms", twilio("ACsecond"))
    setup.fake.fail("ACfirst", 400, {"message": "invalid 'To' number"})
    batch = setup.batch()
    await setup.sender().deliver(batch)
    assert len(setup.fake.to("ACfirst")) == 1
    assert setup.fake.to("ACsecond") == [] and setup.fake.delivered == []
    assert await setup.row() == ("error", first.id, "twilio")
    assert batch.result.failed == [setup.subscriber.id] and batch.result.sent == []
    async with setup.db.session() as session:
        stored = (
            await session.exec(  # type: ignore[call-overload]
                text("select error_text from messages where environment_id = :e").bindparams(e=setup.env.id)
            )
        ).one()[0]
    assert stored.startswith("HTTP 400")  # the provider's answer, not a placeholder
    errors = setup.named(Detail.PROVIDER_ERROR)
    assert [d[3]["raw"]["outcome"] for d in errors if "attempt" in d[3]["raw"]] == ["permanent"]
    assert errors[-1][2] == (DetailStatus.FAILED, DetailSource.CREDENTIALS)  # the step's failure: credentials


async def test_all_transient_failures_end_in_error_after_every_integration(setup: Setup) -> None:
    await setup.integration("twilio", "sms", twilio("ACfirst"), primary=True)
    second = await setup.integration("twilio", "sms", twilio("ACsecond"))
    setup.fake.fail("Messages.json", 503)
    batch = setup.batch()
    await setup.sender(attempts=2).deliver(batch)
    assert len(setup.fake.to("ACfirst")) == 2 and len(setup.fake.to("ACsecond")) == 2
    assert await setup.row() == ("error", second.id, "twilio")  # the last integration tried
    assert batch.result.failed == [setup.subscriber.id]
    # The step's failure is ours to retry (Internal), not the tenant's credentials.
    assert setup.named(Detail.PROVIDER_ERROR)[-1][2] == (DetailStatus.FAILED, DetailSource.INTERNAL)


async def test_a_settled_row_is_never_sent_again(setup: Setup) -> None:
    await setup.integration("twilio", "sms", twilio("ACfirst"), primary=True)
    await setup.sender().deliver(setup.batch())
    retried = setup.batch()  # the activity retried after the send was recorded
    await setup.sender().deliver(retried)
    assert len(setup.fake.to("Messages.json")) == 1
    assert retried.result.sent == [setup.subscriber.id]
    await setup.set_status("error")
    failed = setup.batch()
    await setup.sender().deliver(failed)
    assert len(setup.fake.to("Messages.json")) == 1
    assert failed.result.failed == [setup.subscriber.id] and failed.result.sent == []


async def test_a_row_left_sending_is_not_resent_through_a_provider_that_cannot_deduplicate(
    setup: Setup,
) -> None:
    await setup.integration("twilio", "sms", twilio("ACfirst"), primary=True)
    await setup.sender().deliver(setup.batch())
    await setup.set_status("sending")  # as if the worker died during the provider call
    retried = setup.batch()
    await setup.sender().deliver(retried)
    assert len(setup.fake.to("Messages.json")) == 1 and len(setup.fake.delivered) == 1
    assert (await setup.row())[0] == "warning"
    assert retried.result.sent == [setup.subscriber.id]
    unconfirmed = setup.named(Detail.MESSAGE_DELIVERY_UNCONFIRMED)
    assert len(unconfirmed) == 1 and unconfirmed[0][3]["raw"]["providerId"] == "twilio"


async def test_a_row_left_sending_resumes_through_the_same_deduplicating_provider_first(
    setup: Setup,
) -> None:
    resend = await setup.integration("resend", "email", MAIL, priority=1)
    await setup.integration("sendgrid", "email", MAIL, primary=True)
    batch = setup.batch("email")
    await setup.sender(MailSender).deliver(batch)
    assert len(setup.fake.to("/v3/mail/send")) == 1 and setup.fake.to("/emails") == []
    # Left ``sending`` on Resend (the worker died mid-call): the retry asks Resend again, never SendGrid.
    async with setup.db.session() as session:
        await session.exec(  # type: ignore[call-overload]
            text(
                "update messages set status = 'sending', integration_id = :i where environment_id = :e"
            ).bindparams(i=resend.id, e=setup.env.id)
        )
    retried = setup.batch("email")
    await setup.sender(MailSender).deliver(retried)
    assert len(setup.fake.to("/v3/mail/send")) == 1
    assert len(setup.fake.to("/emails")) == 1
    assert setup.fake.to("/emails")[0].headers["idempotency-key"] == idempotency_key(
        batch, setup.subscriber.id
    )
    assert await setup.row() == ("sent", resend.id, "resend")
    assert retried.result.sent == [setup.subscriber.id]


async def test_a_row_left_sending_on_a_provider_that_cannot_deduplicate_is_not_sent_elsewhere(
    setup: Setup,
) -> None:
    sendgrid = await setup.integration("sendgrid", "email", MAIL, primary=True)
    await setup.integration("resend", "email", MAIL)
    await setup.sender(MailSender).deliver(setup.batch("email"))
    await setup.set_status("sending")
    await setup.sender(MailSender).deliver(setup.batch("email"))
    assert len(setup.fake.to("/v3/mail/send")) == 1 and setup.fake.to("/emails") == []
    assert await setup.row() == ("warning", sendgrid.id, "sendgrid")


async def test_in_flight_answer_keeps_the_row_sending_and_never_fails_over(setup: Setup) -> None:
    resend = await setup.integration("resend", "email", MAIL, primary=True)
    await setup.integration("sendgrid", "email", MAIL)
    setup.fake.fail(
        "/emails",
        409,
        {"statusCode": 409, "name": "concurrent_idempotent_requests", "message": "in progress"},
        times=10,
    )
    batch = setup.batch("email")
    with pytest.raises(ProviderInFlight):
        await setup.sender(MailSender, attempts=2).deliver(batch)
    assert len(setup.fake.to("/emails")) == 2  # retried in the activity, then handed to Temporal
    assert setup.fake.to("/v3/mail/send") == [] and setup.fake.delivered == []
    assert await setup.row() == ("sending", resend.id, "resend")
    assert batch.result.sent == [] and batch.result.failed == []


async def test_no_integration_and_no_phone_are_reported_not_sent(setup: Setup) -> None:
    batch = setup.batch()
    await setup.sender().deliver(batch)
    assert batch.result.failed == [setup.subscriber.id]
    assert len(setup.named(Detail.SUBSCRIBER_NO_ACTIVE_INTEGRATION)) == 1
    await setup.integration("twilio", "sms", twilio("ACfirst"), primary=True)
    setup.subscriber.phone = None
    missing = setup.batch()
    await setup.sender().deliver(missing)
    assert missing.result.filtered == [setup.subscriber.id] and missing.result.failed == []
    assert setup.fake.requests == []


def test_idempotency_key_is_stable_and_separates_deliveries() -> None:
    def key(env: str = "e", tx: str = "t", sub: str = "s", step: str = "st") -> str:
        ctx = DeliveryContext(
            environment_id=env,
            organization_id="o",
            transaction_id=tx,
            workflow=WorkflowSnapshot(id="wf", identifier="wf", name="wf"),
        )
        request = DeliverInput(context=ctx, step=StepSpec(step_id=step, type="sms"), subscriber_ids=[sub])
        batch = Batch(
            db=None,  # type: ignore[arg-type]
            context=ctx,
            request=request,
            rendered=[],
            notifications={},
            result=DeliverResult(),
            detail=lambda *a, **k: None,
        )
        return idempotency_key(batch, sub)

    # Pinned: a release that changed the key would let a provider send a retried message twice.
    assert key() == "tidings-90dcafec0cc08422a53706f106ccfb16ecdeaada"
    assert len({key(), key(env="e2"), key(tx="t2"), key(sub="s2"), key(step="st2")}) == 5


def test_channel_overrides_and_as_list() -> None:
    ctx = DeliveryContext(
        environment_id="e",
        organization_id="o",
        transaction_id="t",
        workflow=WorkflowSnapshot(id="wf", identifier="wf", name="wf"),
        overrides={"sms": {"to": "+1", "content": "c"}, "twilio": {"to": "+2"}},
    )
    batch = Batch(
        db=None,  # type: ignore[arg-type]
        context=ctx,
        request=DeliverInput(context=ctx, step=StepSpec(step_id="s", type="sms"), subscriber_ids=[]),
        rendered=[],
        notifications={},
        result=DeliverResult(),
        detail=lambda *a, **k: None,
    )
    assert channel_overrides(batch, "sms") == {"to": "+1", "content": "c"}
    assert channel_overrides(batch, "sms", "twilio") == {"to": "+2", "content": "c"}
    assert channel_overrides(batch, "email", "twilio") == {"to": "+2"}
    assert (
        as_list(None) == []
        and as_list("") == []
        and as_list("a") == ["a"]
        and as_list(["a", 1]) == ["a", "1"]
    )


async def test_no_backoff_after_the_last_try(setup: Setup) -> None:
    """The backoff is slept between tries, never after the last one (the failover would wait for it).
    With an hour-long backoff and one try, the send fails at once; the guard only stops a hang."""
    await setup.integration("twilio", "sms", twilio("ACfirst"), primary=True)
    setup.fake.fail("ACfirst", 503)
    batch = setup.batch()
    sender = SmsSender(cipher=CIPHER, providers=setup.providers, attempts=1, backoff=3600)
    await asyncio.wait_for(sender.deliver(batch), timeout=120)
    assert batch.result.failed == [setup.subscriber.id] and len(setup.fake.to("ACfirst")) == 1


def failovers(channel: str) -> float:
    return REGISTRY.get_sample_value("tidings_provider_failovers_total", {"channel": channel}) or 0.0


async def test_a_resumed_provider_that_fails_hands_over_to_the_rest(setup: Setup) -> None:
    """After a crash on Resend, the retry asks Resend first and, if Resend is down, moves on once
    through the other integrations (Resend had not acted: it answered 503)."""
    resend = await setup.integration("resend", "email", MAIL, priority=1)
    sendgrid = await setup.integration("sendgrid", "email", MAIL, primary=True)
    await setup.sender(MailSender).deliver(setup.batch("email"))
    async with setup.db.session() as session:
        await session.exec(  # type: ignore[call-overload]
            text(
                "update messages set status = 'sending', integration_id = :i where environment_id = :e"
            ).bindparams(i=resend.id, e=setup.env.id)
        )
    setup.fake.fail("/emails", 503)
    before = failovers("email")
    retried = setup.batch("email")
    await setup.sender(MailSender, attempts=2).deliver(retried)
    assert len(setup.fake.to("/emails")) == 2  # Resend once per try, not once per copy of it
    assert len(setup.fake.to("/v3/mail/send")) == 2  # the first delivery, then the hand-over
    assert failovers("email") - before == 1
    assert await setup.row() == ("sent", sendgrid.id, "sendgrid")


async def test_sent_and_failed_messages_are_announced_to_webhooks(setup: Setup) -> None:
    async with setup.db.session() as session:
        session.add(
            WebhookEndpoint(environment_id=setup.env.id, url="https://hooks.example", secret_encrypted="x")
        )
    await setup.integration("twilio", "sms", twilio("ACfirst"), primary=True)
    await setup.sender().deliver(setup.batch())
    setup.fake.fail("ACfirst", 400)
    await setup.sender().deliver(setup.batch(tx="tx-2"))
    async with setup.db.session() as session:
        types = (
            await session.exec(  # type: ignore[call-overload]
                text(
                    "select event_type from webhook_deliveries where environment_id = :e order by created_at"
                ).bindparams(e=setup.env.id)
            )
        ).all()
    assert sorted(t[0] for t in types) == ["message.failed", "message.sent"]


class WordyProvider(EmailProvider):
    """A provider whose refusal is longer than the 500 characters a message keeps of it."""

    provider_id: ClassVar[str] = "wordy"

    async def send(self, message: EmailMessage, credentials: dict[str, Any]) -> SendResult:
        raise ProviderError("refused: " + "x" * 700, permanent=True)


async def test_a_long_provider_error_is_kept_to_its_first_500_characters(setup: Setup) -> None:
    """The failed message's error text and its ``message.failed`` webhook carry the provider's answer cut
    at 500 characters: the start of the reason, never an unbounded remote text."""
    async with setup.db.session() as session:
        session.add(
            WebhookEndpoint(environment_id=setup.env.id, url="https://hooks.example", secret_encrypted="x")
        )
    setup.providers["wordy"] = WordyProvider()
    labels = {"channel": "email", "status": "error", "provider": "wordy"}
    errors_before = REGISTRY.get_sample_value("tidings_messages_total", labels) or 0.0
    await setup.integration("wordy", "email", MAIL, primary=True)
    batch = setup.batch("email")
    await setup.sender(MailSender).deliver(batch)
    assert batch.result.failed == [setup.subscriber.id]
    kept = ("refused: " + "x" * 700)[:500]
    async with setup.db.session() as session:
        stored = (
            await session.exec(  # type: ignore[call-overload]
                text("select error_text from messages where environment_id = :e").bindparams(e=setup.env.id)
            )
        ).one()[0]
        announced = (
            await session.exec(  # type: ignore[call-overload]
                text(
                    "select body from webhook_deliveries where environment_id = :e "
                    "and event_type = 'message.failed'"
                ).bindparams(e=setup.env.id)
            )
        ).one()[0]
    assert stored == kept
    assert kept in json.dumps(announced) and kept + "x" not in json.dumps(announced)
    assert '"providerId": "wordy"' in json.dumps(announced)  # the provider that refused it
    labels = {"channel": "email", "status": "error", "provider": "wordy"}
    assert REGISTRY.get_sample_value("tidings_messages_total", labels) == errors_before + 1


def attempts_counted(provider: str, outcome: str) -> float:
    labels = {"provider": provider, "outcome": outcome}
    return REGISTRY.get_sample_value("tidings_provider_attempts_total", labels) or 0.0


async def test_a_failed_try_is_counted_and_reported_by_its_kind(setup: Setup) -> None:
    """A transient failure is a warning (it is retried), counted as transient; the retry that succeeds
    records the provider's own message id, which is how its delivery reports are matched later."""
    await setup.integration("twilio", "sms", twilio("ACfirst"), primary=True)
    setup.fake.fail("ACfirst", 503, times=1)
    transient, permanent = attempts_counted("twilio", "transient"), attempts_counted("twilio", "permanent")
    batch = setup.batch()
    await setup.sender(attempts=2).deliver(batch)
    assert batch.result.sent == [setup.subscriber.id]
    tries = [d for d in setup.named(Detail.PROVIDER_ERROR) if "attempt" in d[3]["raw"]]
    assert [d[2] for d in tries] == [(DetailStatus.WARNING, DetailSource.INTERNAL)]
    assert attempts_counted("twilio", "transient") == transient + 1
    assert attempts_counted("twilio", "permanent") == permanent
    stored = await setup.db_value("select provider_message_id from messages where environment_id = :e")
    assert stored == "SM1"  # the fake Twilio's sid for the message


async def test_backoff_doubles_between_tries(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    """``backoff``, then twice that, between three tries: the waits are recorded, not timed."""
    real_sleep = asyncio.sleep
    waits: list[float] = []

    async def recorded_sleep(delay: float, *args: Any, **kwargs: Any) -> Any:
        if delay >= 1000:  # the sender's backoff (anything else sleeping here waits far less)
            waits.append(delay)
            delay = 0
        return await real_sleep(delay, *args, **kwargs)

    monkeypatch.setattr(asyncio, "sleep", recorded_sleep)
    await setup.integration("twilio", "sms", twilio("ACfirst"), primary=True)
    setup.fake.fail("ACfirst", 503)
    batch = setup.batch()
    sender = SmsSender(cipher=CIPHER, providers=setup.providers, attempts=3, backoff=1000)
    await sender.deliver(batch)
    assert batch.result.failed == [setup.subscriber.id] and len(setup.fake.to("ACfirst")) == 3
    assert waits == [1000, 2000]


async def test_every_try_is_one_finished_provider_span(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each provider call is a span that ends with the call, so tracing backends receive it (a span
    left open is never exported). A local provider: the process-wide one belongs to test_tracing."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(channel_module, "tracer", provider.get_tracer("tidings"))
    await setup.integration("twilio", "sms", twilio("ACfirst"), primary=True)
    setup.fake.fail("ACfirst", 503, times=1)
    batch = setup.batch()
    await setup.sender(attempts=2).deliver(batch)
    assert batch.result.sent == [setup.subscriber.id]
    spans = [s for s in exporter.get_finished_spans() if s.name == "provider twilio"]
    assert [s.attributes["tidings.attempt"] for s in spans if s.attributes] == [1, 2]


class FanoutMail(MailSender):
    """The fan-out mode (chat and push send through every integration), with email's plan."""

    mode: ClassVar[str] = "fanout"


async def test_fanout_row_left_sending_is_not_resent_unless_every_provider_deduplicates(
    setup: Setup,
) -> None:
    sendgrid = await setup.integration("sendgrid", "email", MAIL, primary=True)
    await setup.integration("resend", "email", MAIL)
    await setup.sender(FanoutMail).deliver(setup.batch("email"))
    assert len(setup.fake.to("/v3/mail/send")) == 1 and len(setup.fake.to("/emails")) == 1
    assert await setup.row() == ("sent", sendgrid.id, "sendgrid")  # recorded as sent by the first in order
    await setup.set_status("sending")  # the worker died during the calls: SendGrid cannot de-duplicate
    retried = setup.batch("email")
    await setup.sender(FanoutMail).deliver(retried)
    assert len(setup.fake.to("/v3/mail/send")) == 1 and len(setup.fake.to("/emails")) == 1
    assert (await setup.row())[0] == "warning" and retried.result.sent == [setup.subscriber.id]


async def test_an_in_flight_subscriber_is_handed_back_only_after_the_others_are_settled(setup: Setup) -> None:
    """One subscriber's send is still in flight at Resend (handed back to Temporal as an error, to ask
    again later); the other's, held by the provider meanwhile, is still completed and recorded first, so
    the activity's retry finds it settled instead of left ``sending``."""
    bo = Subscriber(environment_id=setup.env.id, subscriber_id="bo", email="bo@example.com")
    async with setup.db.session() as session:
        session.add(bo)
    await setup.integration("resend", "email", MAIL, primary=True)
    in_progress = {"statusCode": 409, "name": "concurrent_idempotent_requests", "message": "in progress"}
    setup.fake.fail("/emails", 409, in_progress, times=1)  # whichever send comes first
    setup.fake.stall("/emails")  # the other one: held until released
    batch = setup.batch("email")
    batch.rendered.append(Rendered(subscriber=bo, content="Hello", subject="Hi"))
    delivery = asyncio.create_task(setup.sender(MailSender, attempts=1).deliver(batch))

    async def both_reached_the_provider() -> bool:
        return len(setup.fake.answered("/emails", 409)) == 1 and len(setup.fake.to("/emails")) == 2

    await eventually(both_reached_the_provider)
    setup.fake.release()
    with pytest.raises(ProviderInFlight):
        await delivery
    assert len(batch.result.sent) == 1  # read before anything else could run
    statuses = await setup.db_value(
        "select array_agg(status order by status) from messages where environment_id = :e"
    )
    assert statuses == ["sending", "sent"]


class BrokenTemplateMail(MailSender):
    """A sender whose content cannot be rendered for this subscriber (what a template error raises)."""

    def plan(self, batch: Batch, r: Rendered, integrations: list[Integration], shared: Any) -> list[Attempt]:
        raise RenderError("undefined variable 'name'")


async def test_content_that_cannot_be_rendered_fails_the_subscriber_and_sends_nothing(setup: Setup) -> None:
    await setup.integration("sendgrid", "email", MAIL, primary=True)
    batch = setup.batch("email")
    await setup.sender(BrokenTemplateMail).deliver(batch)
    assert batch.result.failed == [setup.subscriber.id] and setup.fake.requests == []
    (detail,) = setup.named(Detail.MESSAGE_CONTENT_NOT_GENERATED)
    assert detail[2][0] == DetailStatus.FAILED and "undefined variable" in detail[3]["raw"]["error"]
