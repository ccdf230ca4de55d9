"""Web Push (VAPID + RFC 8291) against a push service that verifies and decrypts, and dead device tokens
removed for every push provider."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from activities.providers.base import ProviderError, PushMessage
from activities.providers.push import ApnsProvider, ExpoProvider, FcmProvider
from activities.providers.webpush import MAX_PAYLOAD_BYTES, WebPushProvider, create_vapid_keys
from tests.fakes.fixtures import (  # noqa: F401  (fixtures)
    add_integration,
    add_workflow,
    details,
    fake_apns_fixture,
    fake_fixture,
    http_fakes_fixture,
)
from tests.fakes.h2_server import FakeApns
from tests.fakes.http_api import FakeHttpProviders
from tests.fakes.webpush import FakePushService
from tests.support import Env, Stack


@pytest.fixture(scope="module")
def push_service() -> Iterator[FakePushService]:
    service = FakePushService()
    service.start()
    yield service
    service.stop()


@pytest.fixture
def pushes(push_service: FakePushService) -> FakePushService:
    push_service.received.clear()
    push_service.refused.clear()
    push_service.gone.clear()
    return push_service


def credentials() -> dict[str, Any]:
    return {**create_vapid_keys(), "subject": "mailto:ops@acme.io"}


async def test_payload_is_encrypted_for_the_browser_and_signed_with_vapid(pushes: FakePushService) -> None:
    creds = credentials()
    tokens = [pushes.subscribe("firefox"), pushes.subscribe("chrome")]
    sent = await WebPushProvider(allow_private=True).send(
        PushMessage(
            tokens=tokens,
            title="New comment",
            content="Ada replied",
            data={"postId": 7},
            extra={"ttl": 60, "urgency": "high", "topic": "post-7"},
        ),
        creds,
    )
    assert sent.raw == {"sent": 2, "failed": 0} and sent.gone_tokens == []
    assert pushes.refused == []
    assert sorted(p.browser for p in pushes.received) == ["chrome", "firefox"]
    for push in pushes.received:
        assert push.payload == {"title": "New comment", "body": "Ada replied", "data": {"postId": 7}}
        assert push.headers["ttl"] == "60" and push.headers["urgency"] == "high"
        assert push.headers["topic"] == "post-7"
        assert push.claims["sub"] == "mailto:ops@acme.io" and push.claims["aud"] == pushes.origin
        assert push.headers["authorization"].endswith(f"k={creds['vapidPublicKey']}")


async def test_a_gone_subscription_is_reported_and_the_others_still_receive(pushes: FakePushService) -> None:
    live, dead = pushes.subscribe("live"), pushes.subscribe("dead")
    pushes.gone.add("dead")
    sent = await WebPushProvider(allow_private=True).send(
        PushMessage(tokens=[dead, live], title="T", content="B"), credentials()
    )
    assert sent.gone_tokens == [dead] and sent.raw == {"sent": 1, "failed": 1}
    assert [p.browser for p in pushes.received] == ["live"]
    with pytest.raises(ProviderError) as only_dead:
        await WebPushProvider(allow_private=True).send(
            PushMessage(tokens=[dead], title="T", content="B"), credentials()
        )
    assert only_dead.value.permanent and only_dead.value.gone_tokens == [dead]


async def test_payload_over_four_kilobytes_is_a_clear_permanent_error(pushes: FakePushService) -> None:
    token = pushes.subscribe("big")
    fits = "x" * (MAX_PAYLOAD_BYTES - len('{"title":"","body":"","data":{}}'))
    await WebPushProvider(allow_private=True).send(
        PushMessage(tokens=[token], title="", content=fits), credentials()
    )
    assert len(pushes.received) == 1  # exactly at the limit: accepted by the push service
    with pytest.raises(ProviderError) as too_big:
        await WebPushProvider(allow_private=True).send(
            PushMessage(tokens=[token], title="", content=fits + "y"), credentials()
        )
    assert too_big.value.permanent and "limit is 3993" in str(too_big.value)
    assert len(pushes.received) == 1


@pytest.mark.parametrize(
    ("extra", "needle"),
    [({"urgency": "asap"}, "urgency"), ({"topic": "has spaces"}, "topic"), ({"ttl": "soon"}, "ttl")],
)
async def test_bad_step_options_are_refused(
    pushes: FakePushService, extra: dict[str, Any], needle: str
) -> None:
    token = pushes.subscribe("opts")
    with pytest.raises(ProviderError) as bad:
        await WebPushProvider(allow_private=True).send(
            PushMessage(tokens=[token], title="T", content="B", extra=extra), credentials()
        )
    assert bad.value.permanent and needle in str(bad.value)
    assert pushes.received == []


async def put_tokens(env: Env, subscriber_id: str, provider_id: str, tokens: list[str]) -> None:
    created = await env.http.post("/v1/subscribers", json={"subscriberId": subscriber_id})
    assert created.status_code == 201, created.text
    resp = await env.http.put(
        f"/v1/subscribers/{subscriber_id}/credentials",
        json={"providerId": provider_id, "credentials": {"deviceTokens": tokens}},
    )
    assert resp.status_code == 200, resp.text


async def stored_tokens(env: Env, subscriber_id: str, provider_id: str) -> list[str]:
    sub = (await env.http.get(f"/v1/subscribers/{subscriber_id}")).json()["data"]
    return [
        t for c in sub["channels"] if c["providerId"] == provider_id for t in c["credentials"]["deviceTokens"]
    ]


async def test_web_push_end_to_end_removes_a_gone_subscription(
    env: Env, stack: Stack, pushes: FakePushService
) -> None:
    integration = await add_integration(env, "web-push", "push", credentials())
    assert integration["credentials"]["vapidPrivateKey"] == "********"  # the private key never comes back
    await add_workflow(
        env,
        "new-comment",
        [{"type": "push", "title": "New comment on {{ post }}", "content": "{{ author }} replied"}],
    )
    # The step's own options (step-level metadata, as Novu keeps delay/digest settings).
    await env.sql(
        "UPDATE workflow_definitions SET steps = :steps WHERE trigger_identifier = 'new-comment' RETURNING id",
        steps=json.dumps(
            [
                {
                    "_id": "s0",
                    "uuid": "s0",
                    "active": True,
                    "metadata": {"webPush": {"ttl": 120, "urgency": "high"}},
                    "template": {
                        "type": "push",
                        "title": "New comment on {{ post }}",
                        "content": "{{ author }} replied",
                    },
                }
            ]
        ),
    )
    live, dead = pushes.subscribe("laptop"), pushes.subscribe("old-phone")
    pushes.gone.add("old-phone")
    await put_tokens(env, "ada", "web-push", [live, dead])

    await env.trigger("new-comment", "ada", {"post": "Tidings", "author": "Bob"}, transactionId="wp-1")
    await env.settle("wp-1")
    [push] = pushes.received
    assert push.browser == "laptop"
    assert push.payload["title"] == "New comment on Tidings" and push.payload["body"] == "Bob replied"
    assert push.headers["ttl"] == "120" and push.headers["urgency"] == "high"
    assert await stored_tokens(env, "ada", "web-push") == [live]
    rows = await details(env, "wp-1")
    removed = [r for r in rows if r.detail == "Device token removed"]
    assert len(removed) == 1 and removed[0].raw["removed"] == 1
    assert any(r.detail == "Message sent" for r in rows)

    await env.trigger("new-comment", "ada", {"post": "Tidings", "author": "Cy"}, transactionId="wp-2")
    await env.settle("wp-2")
    assert [p.browser for p in pushes.received] == ["laptop", "laptop"]
    assert not any(r.detail == "Device token removed" for r in await details(env, "wp-2"))


async def test_web_push_payload_over_the_limit_fails_the_step_with_the_reason(
    env: Env, stack: Stack, pushes: FakePushService
) -> None:
    await add_integration(env, "web-push", "push", credentials())
    await add_workflow(env, "huge", [{"type": "push", "title": "T", "content": "{{ text }}"}])
    await put_tokens(env, "ada", "web-push", [pushes.subscribe("tab")])
    await env.trigger("huge", "ada", {"text": "z" * 5000}, transactionId="wp-big")
    await env.settle("wp-big")
    assert pushes.received == []
    rows = await details(env, "wp-big")
    failed = [r for r in rows if r.status == "Failed"]
    assert failed and any("limit is 3993" in json.dumps(r.raw) for r in failed)
    [msg] = await env.sql("select status from messages where transaction_id = 'wp-big'")
    assert msg.status == "error"


# -- dead tokens from the other push providers ------------------------------------------------------


async def test_fcm_unregistered_token_is_gone(fake: FakeHttpProviders) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    account = {
        "project_id": "demo",
        "client_email": "push@demo.iam.gserviceaccount.com",
        "private_key": pem,
        "token_uri": f"{fake.url}/token",
    }
    unregistered = {
        "error": {
            "code": 404,
            "message": "Requested entity was not found.",
            "status": "NOT_FOUND",
            "details": [
                {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}
            ],
        }
    }
    fake.fail("messages:send", 404, unregistered, times=1)
    sent = await FcmProvider(allow_private=True, base_urls={"fcm": fake.url}).send(
        PushMessage(tokens=["old", "new"], title="T", content="B"), {"serviceAccount": json.dumps(account)}
    )
    assert sent.gone_tokens == ["old"] and sent.raw == {"sent": 1, "failed": 1}
    # A 404 that is not about the token (a wrong project) removes nothing.
    fake.fail("messages:send", 404, {"error": {"code": 404, "status": "NOT_FOUND", "message": "x"}}, times=1)
    with pytest.raises(ProviderError) as other:
        await FcmProvider(allow_private=True, base_urls={"fcm": fake.url}).send(
            PushMessage(tokens=["t"], title="T", content="B"), {"serviceAccount": json.dumps(account)}
        )
    assert other.value.gone_tokens == []


async def test_apns_unregistered_and_bad_device_token_are_gone(fake_apns: FakeApns) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    provider = ApnsProvider(
        client=httpx.AsyncClient(http1=False, http2=True), base_urls={"apns": fake_apns.url}
    )
    creds = {"secretKey": key.decode(), "keyId": "K", "teamId": "T", "bundleId": "io.acme.app"}
    fake_apns.failures.append((410, "Unregistered"))
    fake_apns.failures.append((400, "BadDeviceToken"))
    with pytest.raises(ProviderError) as gone:
        await provider.send(PushMessage(tokens=["a", "b"], title="T", content="B"), creds)
    assert gone.value.gone_tokens == ["a", "b"]
    fake_apns.failures.append((400, "PayloadTooLarge"))
    with pytest.raises(ProviderError) as not_gone:
        await provider.send(PushMessage(tokens=["c"], title="T", content="B"), creds)
    assert not_gone.value.gone_tokens == []


async def test_expo_device_not_registered_is_removed_end_to_end(
    env: Env, stack: Stack, fake: FakeHttpProviders
) -> None:
    tickets = {
        "data": [
            {"status": "ok", "id": "t1"},
            {"status": "error", "message": "gone", "details": {"error": "DeviceNotRegistered"}},
        ]
    }
    fake.fail("/push/send", 200, tickets, times=1)
    await add_integration(env, "expo", "push", {"apiKey": "expo-at", "baseUrl": fake.url})
    await add_workflow(env, "ping", [{"type": "push", "title": "Ping", "content": "pong"}])
    await put_tokens(env, "bo", "expo", ["ExponentPushToken[live]", "ExponentPushToken[gone]"])
    await env.trigger("ping", "bo", {}, transactionId="expo-gone")
    await env.settle("expo-gone")
    assert await stored_tokens(env, "bo", "expo") == ["ExponentPushToken[live]"]
    assert any(r.detail == "Device token removed" for r in await details(env, "expo-gone"))
    [msg] = await env.sql("select status from messages where transaction_id = 'expo-gone'")
    assert msg.status == "sent"


async def test_expo_all_tokens_gone_removes_them_and_fails_the_message(
    env: Env, stack: Stack, fake: FakeHttpProviders
) -> None:
    dead = {"status": "error", "details": {"error": "DeviceNotRegistered"}}
    fake.fail("/push/send", 200, {"data": [dead]}, times=1)
    provider = ExpoProvider(allow_private=True, base_urls={"expo": fake.url})
    with pytest.raises(ProviderError) as exc:
        await provider.send(PushMessage(tokens=["ExponentPushToken[x]"], title="T", content="B"), {})
    assert exc.value.permanent and exc.value.gone_tokens == ["ExponentPushToken[x]"]


async def test_vapid_create_prints_keys_that_sign_pushes(
    pushes: FakePushService, capsys: pytest.CaptureFixture[str]
) -> None:
    from tidings.cli import main

    main(["vapid", "create", "--subject", "mailto:ops@acme.io"])
    body = json.loads(capsys.readouterr().out)
    assert body["providerId"] == "web-push" and body["channel"] == "push"
    creds = body["credentials"]
    assert set(creds) == {"vapidPublicKey", "vapidPrivateKey", "subject"}
    await WebPushProvider(allow_private=True).send(
        PushMessage(tokens=[pushes.subscribe("cli")], title="T", content="B"), creds
    )
    assert pushes.refused == [] and [p.browser for p in pushes.received] == ["cli"]


async def test_a_browser_subscribes_itself_through_the_inbox_and_receives(
    env: Env, stack: Stack, pushes: FakePushService
) -> None:
    """The Inbox page's "Enable browser notifications": the session fetches the VAPID public key, hands its
    subscription over, and the next push step reaches that browser. Another subscriber's session cannot
    remove it, and nothing secret is shown."""
    from tests.inbox_support import open_session

    await env.http.post("/v1/subscribers", json={"subscriberId": "lea"})
    browser, _ = await open_session(env, "lea")
    assert (await browser.get("/v1/inbox/web-push")).json()["data"] == {
        "enabled": False,
        "vapidPublicKey": None,
    }
    refused = await browser.post(
        "/v1/inbox/web-push/subscriptions", json=json.loads(pushes.subscribe("early"))
    )
    assert refused.status_code == 400

    creds = credentials()
    await add_integration(env, "web-push", "push", creds)
    info = (await browser.get("/v1/inbox/web-push")).json()["data"]
    assert info == {"enabled": True, "vapidPublicKey": creds["vapidPublicKey"]}
    subscription = json.loads(pushes.subscribe("leas-laptop"))
    resp = await browser.post("/v1/inbox/web-push/subscriptions", json=subscription)
    assert resp.status_code == 201, resp.text
    bad = await browser.post(
        "/v1/inbox/web-push/subscriptions",
        json={"endpoint": "ftp://x.example/1", "keys": subscription["keys"]},
    )
    assert bad.status_code == 400

    await add_workflow(
        env, "ping", [{"type": "push", "title": "Ping", "content": "for {{ subscriber.subscriberId }}"}]
    )
    await env.trigger("ping", "lea", {}, transactionId="inbox-wp-1")
    await env.settle("inbox-wp-1")
    [push] = pushes.received
    assert push.browser == "leas-laptop" and push.payload["body"] == "for lea"

    other, _ = await open_session(env, "mallory")
    stolen = await other.post(
        "/v1/inbox/web-push/subscriptions/remove", json={"endpoint": subscription["endpoint"]}
    )
    assert stolen.status_code == 404
    assert len(await stored_tokens(env, "lea", "web-push")) == 1
    mine = await browser.post(
        "/v1/inbox/web-push/subscriptions/remove", json={"endpoint": subscription["endpoint"]}
    )
    assert mine.status_code == 200
    assert await stored_tokens(env, "lea", "web-push") == []
