"""Trigger overrides and recipients through the worker: email, SMS, push and chat."""

from __future__ import annotations

import base64
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.fixtures import (  # noqa: F401  (fixtures)
    add_integration,
    add_workflow,
    details,
    fake_fixture,
    http_fakes_fixture,
    set_channels,
)
from tests.fakes.http_api import FakeHttpProviders
from tests.support import Env, Stack

PDF = b"%PDF-1.4 tiny"


async def test_email_overrides_and_attachments(env: Env, stack: Stack) -> None:
    overrides = {
        "email": {
            "to": ["extra@example.com"],
            "cc": ["cc@example.com"],
            "bcc": ["bcc@example.com"],
            "from": "override@acme.io",
            "senderName": "Acme Override",
            "replyTo": "reply@acme.io",
            "subject": "Overridden subject",
            "text": "plain text body",
            "html": "<p>overridden html</p>",
            "headers": {"X-Tag": "t1"},
        }
    }
    payload = {
        "name": "Ov",
        "attachments": [{"file": base64.b64encode(PDF).decode(), "name": "a.pdf", "mime": "application/pdf"}],
    }
    resp = await env.trigger(
        "welcome",
        {"subscriberId": "ov", "email": "ov@example.com"},
        payload,
        transactionId="ov-1",
        overrides=overrides,
    )
    assert resp.status_code == 201, resp.text
    await env.settle("ov-1")
    (mail,) = await stack.mailbox.wait_for(1, "ov@example.com")
    assert mail["To"] == "ov@example.com, extra@example.com" and mail["Cc"] == "cc@example.com"
    assert mail["From"] == "Acme Override <override@acme.io>" and mail["Reply-To"] == "reply@acme.io"
    assert mail["Subject"] == "Overridden subject" and mail["X-Tag"] == "t1"
    assert mail.get_body(("plain",)).get_content().strip() == "plain text body"
    assert mail.get_body(("html",)).get_content().strip() == "<p>overridden html</p>"
    (att,) = list(mail.iter_attachments())
    assert att.get_filename() == "a.pdf" and att.get_content() == PDF
    envelope = next(e for e in stack.mailbox.envelopes if "ov@example.com" in e.rcpt_tos)
    assert set(envelope.rcpt_tos) == {
        "ov@example.com",
        "extra@example.com",
        "cc@example.com",
        "bcc@example.com",
    }
    (row,) = await env.sql("select payload from messages where transaction_id = 'ov-1' and channel = 'email'")
    stored = row.payload if isinstance(row.payload, dict) else json.loads(row.payload)
    assert "attachments" not in stored and stored["name"] == "Ov"


async def test_integration_identifier_and_provider_overrides(
    env: Env, stack: Stack, fake: FakeHttpProviders
) -> None:
    await add_integration(
        env,
        "sendgrid",
        "email",
        {"apiKey": "SG.k", "baseUrl": fake.url, "from": "sg@acme.io"},
        identifier="sg-main",
    )
    overrides = {
        "email": {"integrationIdentifier": "sg-main", "subject": "Channel subject"},
        "sendgrid": {"subject": "Provider subject", "categories": ["onboarding"], "ip_pool_name": "pool-a"},
    }
    await env.trigger(
        "welcome",
        {"subscriberId": "sg", "email": "sg@example.com"},
        {"name": "Sg"},
        transactionId="sg-1",
        overrides=overrides,
    )
    await env.settle("sg-1")
    (req,) = fake.to("/v3/mail/send")
    body = req.json
    assert body["subject"] == "Provider subject"  # overrides.<providerId> wins over overrides.email
    assert body["categories"] == ["onboarding"] and body["ip_pool_name"] == "pool-a"
    assert stack.mailbox.to("sg@example.com") == []  # the primary SMTP integration was not used


async def test_sms_step_overrides_and_missing_phone(env: Env, fake: FakeHttpProviders) -> None:
    await add_integration(
        env, "twilio", "sms", {"accountSid": "AC9", "token": "tw", "from": "+15550000", "baseUrl": fake.url}
    )
    await add_workflow(env, "otp", [{"type": "sms", "content": "Code {{code}}"}])
    await env.trigger(
        "otp", {"subscriberId": "p1", "phone": "+15551111"}, {"code": "42"}, transactionId="sms-1"
    )
    await env.settle("sms-1")
    (req,) = fake.to("/Accounts/AC9/Messages.json")
    assert req.form == {"To": ["+15551111"], "From": ["+15550000"], "Body": ["Code 42"]}
    overrides = {"sms": {"to": "+15552222", "from": "+15553333", "content": "Overridden"}}
    await env.trigger(
        "otp", {"subscriberId": "p1"}, {"code": "1"}, transactionId="sms-2", overrides=overrides
    )
    await env.settle("sms-2")
    assert fake.to("/Messages.json")[1].form == {
        "To": ["+15552222"],
        "From": ["+15553333"],
        "Body": ["Overridden"],
    }
    await env.trigger("otp", {"subscriberId": "nophone"}, {"code": "1"}, transactionId="sms-3")
    result = await env.settle("sms-3")
    assert len(fake.to("/Messages.json")) == 2
    rows = await details(env, "sms-3")
    assert [(r.detail, r.status) for r in rows if r.detail == "Subscriber missing recipient details"] == [
        ("Subscriber missing recipient details", "Warning")
    ]
    assert result["steps"]["s0"]["failed"] == 0 and result["steps"]["s0"]["filtered"] == 1


def service_account(fake: FakeHttpProviders) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return json.dumps(
        {
            "project_id": "demo",
            "client_email": "svc@demo.iam",
            "private_key": pem.decode(),
            "token_uri": f"{fake.url}/oauth/token",
        }
    )


async def test_push_to_subscriber_tokens_and_override_tokens(env: Env, fake: FakeHttpProviders) -> None:
    fcm = await add_integration(
        env, "fcm", "push", {"serviceAccount": service_account(fake), "baseUrl": fake.url}
    )
    await add_integration(env, "expo", "push", {"baseUrl": fake.url})
    await add_workflow(env, "ping", [{"type": "push", "title": "Hey {{name}}", "content": "You have mail"}])
    await set_channels(
        env,
        "dev1",
        [{"providerId": "fcm", "_integrationId": fcm["_id"], "credentials": {"deviceTokens": ["t1", "t2"]}}],
    )
    await env.trigger("ping", "dev1", {"name": "Dev"}, transactionId="push-1")
    await env.settle("push-1")
    sends = fake.to("messages:send")
    assert [s.json["message"]["token"] for s in sends] == ["t1", "t2"]
    assert sends[0].json["message"]["notification"] == {"title": "Hey Dev", "body": "You have mail"}
    assert fake.to("/push/send") == []  # no Expo credentials for this subscriber
    overrides = {"expo": {"deviceTokens": ["ExponentPushToken[o]"], "sound": "default"}}
    await env.trigger("ping", "dev1", {"name": "Dev"}, transactionId="push-2", overrides=overrides)
    await env.settle("push-2")
    (expo,) = fake.to("/push/send")
    assert expo.json == [
        {
            "to": "ExponentPushToken[o]",
            "title": "Hey Dev",
            "body": "You have mail",
            "data": {},
            "sound": "default",
        }
    ]
    (row,) = await env.sql("select device_tokens from messages where transaction_id = 'push-2'")
    tokens = row.device_tokens if isinstance(row.device_tokens, list) else json.loads(row.device_tokens)
    assert set(tokens) == {"t1", "t2", "ExponentPushToken[o]"}
    await env.trigger("ping", "notokens", {"name": "X"}, transactionId="push-3")
    await env.settle("push-3")
    assert any(
        r.detail == "Subscriber credentials is missing the tokens for sending a push notification message"
        for r in await details(env, "push-3")
    )


async def test_chat_to_every_configured_webhook(env: Env, fake: FakeHttpProviders) -> None:
    await add_integration(env, "slack", "chat", {})
    await add_integration(env, "discord", "chat", {})
    await add_workflow(env, "deploys", [{"type": "chat", "content": "Deployed {{version}}"}])
    await set_channels(
        env,
        "ops",
        [
            {"providerId": "slack", "credentials": {"webhookUrl": f"{fake.url}/slack/T1/B1/secret"}},
            {
                "providerId": "discord",
                "credentials": {"webhookUrl": f"{fake.url}/discord/api/webhooks/9/tok"},
            },
        ],
    )
    await env.trigger("deploys", "ops", {"version": "1.2"}, transactionId="chat-1")
    await env.settle("chat-1")
    assert fake.to("/slack/T1/B1/secret")[0].json == {"text": "Deployed 1.2"}
    assert fake.to("/discord/api/webhooks/9/tok")[0].json == {"content": "Deployed 1.2"}
    rows = await details(env, "chat-1")
    assert all("secret" not in str(r.raw) for r in rows)  # webhook URLs are credentials
    await env.trigger("deploys", "nobody", {"version": "1"}, transactionId="chat-2")
    await env.settle("chat-2")
    assert any(
        r.detail == "Subscriber does not have a configured channel" for r in await details(env, "chat-2")
    )
