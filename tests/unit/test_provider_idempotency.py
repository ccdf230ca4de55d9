"""Idempotency keys against fakes that answer like Resend and OneSignal, and what Tidings does with the
answers: a repeat while the first request is in flight is "ask again later", never a failover; a key
reused with another payload is a real error."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from activities.providers.base import EmailMessage, ProviderError, PushMessage
from activities.providers.email_http import ResendProvider
from activities.providers.push import OneSignalProvider
from tests.fakes.fixtures import fake_fixture, http_fakes_fixture  # noqa: F401  (fixtures)
from tests.fakes.http_api import FakeHttpProviders
from tests.support import eventually

CREDS = {"apiKey": "re_key", "from": "team@acme.io"}


def mail(subject: str = "Hi", key: str = "tidings-k1") -> EmailMessage:
    return EmailMessage(to=["ada@example.com"], subject=subject, html="<p>Hi</p>", idempotency_key=key)


async def test_resend_repeat_after_completion_returns_the_original(fake: FakeHttpProviders) -> None:
    provider = ResendProvider(allow_private=True, base_urls={"resend": fake.url})
    first = await provider.send(mail(), CREDS)
    other = await provider.send(mail(key="tidings-k2"), CREDS)
    again = await provider.send(mail(), CREDS)
    assert again.provider_message_id == first.provider_message_id != other.provider_message_id
    assert len(fake.to("/emails")) == 3  # requests received
    assert len({r.headers["idempotency-key"] for r in fake.to("/emails")}) == 2  # distinct keys
    assert len(fake.delivered) == 2  # emails sent


async def test_resend_repeat_in_flight_is_retry_later(fake: FakeHttpProviders) -> None:
    """Resend answers 409 ``concurrent_idempotent_requests``: Tidings must neither give up nor fail over."""
    provider = ResendProvider(allow_private=True, base_urls={"resend": fake.url})
    fake.stall("/emails")
    first = asyncio.create_task(provider.send(mail(), CREDS))
    await eventually(lambda: _received(fake, 1))
    with pytest.raises(ProviderError) as err:
        await provider.send(mail(), CREDS)
    assert err.value.status == 409 and err.value.in_flight and not err.value.permanent
    assert "concurrent_idempotent_requests" in str(err.value)
    fake.release()
    original = await first
    again = await provider.send(mail(), CREDS)
    assert again.provider_message_id == original.provider_message_id
    assert [status for _, status, _ in fake.answers] == [409, 200, 200]
    assert len(fake.delivered) == 1


async def test_resend_key_reused_with_another_payload_is_permanent(fake: FakeHttpProviders) -> None:
    provider = ResendProvider(allow_private=True, base_urls={"resend": fake.url})
    await provider.send(mail(), CREDS)
    with pytest.raises(ProviderError) as err:
        await provider.send(mail(subject="Changed"), CREDS)
    assert err.value.status == 409 and err.value.permanent and not err.value.in_flight
    assert "invalid_idempotent_request" in str(err.value)
    assert len(fake.delivered) == 1


async def test_resend_failed_first_request_does_not_hold_the_key(fake: FakeHttpProviders) -> None:
    fake.fail("/emails", 503, {"message": "down"}, times=1)
    provider = ResendProvider(allow_private=True, base_urls={"resend": fake.url})
    with pytest.raises(ProviderError) as err:
        await provider.send(mail(), CREDS)
    assert not err.value.permanent and not err.value.in_flight
    sent = await provider.send(mail(), CREDS)
    assert sent.provider_message_id == "re-1" and len(fake.delivered) == 1


async def test_onesignal_repeated_key_returns_the_first_result(fake: FakeHttpProviders) -> None:
    provider = OneSignalProvider(allow_private=True, base_urls={"one-signal": fake.url})
    creds = {"applicationId": "app-1", "apiKey": "os-key"}
    first = await provider.send(
        PushMessage(tokens=["p1"], title="T", content="B", idempotency_key="k1"), creds
    )
    changed = PushMessage(tokens=["p1"], title="T", content="Changed", idempotency_key="k1")
    again = await provider.send(changed, creds)
    other = await provider.send(
        PushMessage(tokens=["p1"], title="T", content="B", idempotency_key="k2"), creds
    )
    assert again.provider_message_id == first.provider_message_id != other.provider_message_id
    keys = [r.json["idempotency_key"] for r in fake.to("/notifications")]
    assert len(keys) == 3 and len(set(keys)) == 2 and all(uuid.UUID(k) for k in keys)
    assert len(fake.delivered) == 2


async def test_onesignal_repeat_in_flight_waits_for_the_first(fake: FakeHttpProviders) -> None:
    provider = OneSignalProvider(allow_private=True, base_urls={"one-signal": fake.url})
    creds = {"applicationId": "app-1", "apiKey": "os-key"}
    msg = PushMessage(tokens=["p1"], title="T", content="B", idempotency_key="k1")
    fake.stall("/notifications")
    first = asyncio.create_task(provider.send(msg, creds))
    await eventually(lambda: _received(fake, 1))
    second = asyncio.create_task(provider.send(msg, creds))
    await eventually(lambda: _received(fake, 2))
    fake.release()
    results = await asyncio.gather(first, second)
    assert results[0].provider_message_id == results[1].provider_message_id
    assert len(fake.delivered) == 1


async def _received(fake: FakeHttpProviders, count: int) -> bool:
    return len(fake.requests) >= count
