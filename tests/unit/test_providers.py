"""Every adapter against a local fake of its provider's API: the exact request, and the error split."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from activities.providers.base import (
    Attachment,
    ChatMessage,
    EmailMessage,
    ProviderError,
    PushMessage,
    SmsMessage,
)
from activities.providers.chat import (
    ChatWebhookProvider,
    DiscordProvider,
    MattermostProvider,
    MsTeamsProvider,
    SlackProvider,
)
from activities.providers.email_http import (
    MailgunProvider,
    PostmarkProvider,
    ResendProvider,
    SendGridProvider,
)
from activities.providers.push import ApnsProvider, ExpoProvider, FcmProvider, OneSignalProvider
from activities.providers.ses import SesProvider, sigv4_headers
from activities.providers.sms import GenericSmsProvider, PlivoProvider, TwilioProvider, VonageProvider
from activities.providers.smtp import SmtpProvider
from tests.fakes.fixtures import fake_apns_fixture, fake_fixture, http_fakes_fixture  # noqa: F401  (fixtures)
from tests.fakes.h2_server import FakeApns
from tests.fakes.http_api import FakeHttpProviders
from tests.support import Mailbox
from tidings.devserver import free_port

ATTACHMENT = Attachment(name="hello.txt", content=b"hello attachment", mime="text/plain")


def email(**extra: object) -> EmailMessage:
    values: dict[str, object] = {
        "to": ["ada@example.com"],
        "subject": "Hi",
        "html": "<p>Hi</p>",
        "text": "Hi",
        "cc": ["cc@example.com"],
        "bcc": ["bcc@example.com"],
        "reply_to": "reply@example.com",
        "headers": {"X-Campaign": "c1"},
        "attachments": [ATTACHMENT],
        "idempotency_key": "tidings-key-1",
    }
    values.update(extra)
    return EmailMessage(**values)  # type: ignore[arg-type]


# -- email ---------------------------------------------------------------------------------------


async def test_sendgrid_request(fake: FakeHttpProviders) -> None:
    provider = SendGridProvider(allow_private=True, base_urls={"sendgrid": fake.url})
    sent = await provider.send(
        email(extra={"categories": ["welcome"]}),
        {"apiKey": "SG.key", "from": "team@acme.io", "senderName": "Acme"},
    )
    assert sent.provider_message_id == "sg-1"
    (req,) = fake.to("/v3/mail/send")
    assert req.headers["authorization"] == "Bearer SG.key"
    body = req.json
    assert body["personalizations"] == [
        {
            "to": [{"email": "ada@example.com"}],
            "cc": [{"email": "cc@example.com"}],
            "bcc": [{"email": "bcc@example.com"}],
        }
    ]
    assert body["from"] == {"email": "team@acme.io", "name": "Acme"}
    assert body["reply_to"] == {"email": "reply@example.com"}
    assert body["content"] == [
        {"type": "text/plain", "value": "Hi"},
        {"type": "text/html", "value": "<p>Hi</p>"},
    ]
    assert body["headers"] == {"X-Campaign": "c1"}
    assert body["custom_args"] == {"idempotencyKey": "tidings-key-1"}
    assert body["categories"] == ["welcome"]
    assert body["attachments"][0] == {
        "content": base64.b64encode(b"hello attachment").decode(),
        "filename": "hello.txt",
        "type": "text/plain",
        "disposition": "attachment",
    }


async def test_mailgun_request(fake: FakeHttpProviders) -> None:
    provider = MailgunProvider(allow_private=True)
    creds = {"apiKey": "mg-key", "domain": "mg.acme.io", "baseUrl": fake.url, "from": "team@acme.io"}
    sent = await provider.send(email(), creds)
    assert sent.provider_message_id == "<mg-1@mailgun>"
    (req,) = fake.to("/v3/mg.acme.io/messages")
    assert req.headers["authorization"] == "Basic " + base64.b64encode(b"api:mg-key").decode()
    form = req.form
    assert (
        form["to"] == ["ada@example.com"]
        and form["cc"] == ["cc@example.com"]
        and form["bcc"] == ["bcc@example.com"]
    )
    assert form["from"] == ["team@acme.io"] and form["subject"] == ["Hi"] and form["html"] == ["<p>Hi</p>"]
    assert form["h:Reply-To"] == ["reply@example.com"] and form["h:X-Campaign"] == ["c1"]
    assert form["v:idempotency-key"] == ["tidings-key-1"]
    assert form["files"] == ["hello.txt"]


async def test_postmark_request(fake: FakeHttpProviders) -> None:
    provider = PostmarkProvider(allow_private=True, base_urls={"postmark": fake.url})
    await provider.send(email(), {"apiKey": "pm-token", "from": "team@acme.io", "senderName": "Acme"})
    (req,) = fake.to("/email")
    assert req.headers["x-postmark-server-token"] == "pm-token"
    body = req.json
    assert body["From"] == "Acme <team@acme.io>" and body["To"] == "ada@example.com"
    assert body["Cc"] == "cc@example.com" and body["Bcc"] == "bcc@example.com"
    assert (
        body["HtmlBody"] == "<p>Hi</p>"
        and body["TextBody"] == "Hi"
        and body["ReplyTo"] == "reply@example.com"
    )
    assert body["Headers"] == [{"Name": "X-Campaign", "Value": "c1"}]
    assert body["Metadata"] == {"idempotencyKey": "tidings-key-1"}
    assert body["Attachments"][0]["Name"] == "hello.txt"


async def test_resend_sends_idempotency_key(fake: FakeHttpProviders) -> None:
    provider = ResendProvider(allow_private=True, base_urls={"resend": fake.url})
    assert provider.idempotent
    creds = {"apiKey": "re_key", "from": "team@acme.io"}
    first = await provider.send(email(), creds)
    again = await provider.send(email(), creds)
    assert first.provider_message_id == again.provider_message_id == "re-1"
    reqs = fake.to("/emails")
    assert [r.headers["idempotency-key"] for r in reqs] == ["tidings-key-1", "tidings-key-1"]
    assert reqs[0].headers["authorization"] == "Bearer re_key"
    assert reqs[0].json["attachments"][0]["filename"] == "hello.txt"
    assert len(fake.delivered) == 1  # two requests, one email: the second was answered from the key


async def test_ses_signs_with_sigv4(fake: FakeHttpProviders) -> None:
    provider = SesProvider(allow_private=True, base_urls={"ses": fake.url})
    creds = {"apiKey": "AKIDEXAMPLE", "secretKey": "secret", "region": "eu-west-1", "from": "team@acme.io"}
    sent = await provider.send(email(), creds)
    assert sent.provider_message_id == "ses-1"
    (req,) = fake.to("/v2/email/outbound-emails")
    auth = req.headers["authorization"]
    day = req.headers["x-amz-date"][:8]
    assert auth.startswith(f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{day}/eu-west-1/ses/aws4_request, ")
    assert "SignedHeaders=content-type;host;x-amz-date," in auth
    expected = sigv4_headers(
        method="POST",
        url=f"{fake.url}/v2/email/outbound-emails",
        headers={"content-type": "application/json"},
        body=req.body,
        access_key="AKIDEXAMPLE",
        secret_key="secret",
        region="eu-west-1",
        service="ses",
        now=datetime.strptime(req.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC),
    )
    assert auth == expected["Authorization"]
    body = req.json
    assert body["Destination"] == {
        "ToAddresses": ["ada@example.com"],
        "CcAddresses": ["cc@example.com"],
        "BccAddresses": ["bcc@example.com"],
    }
    raw = base64.b64decode(body["Content"]["Raw"]["Data"])
    assert b"hello.txt" in raw and b"Subject: Hi" in raw and b"<tidings-key-1@acme.io>" in raw


def test_sigv4_matches_independent_vectors() -> None:
    """AWS's published ``get-vanilla`` vector, and an SES request signed by botocore (computed offline)."""
    secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    vanilla = sigv4_headers(
        method="GET",
        url="https://example.amazonaws.com/",
        headers={},
        body=b"",
        access_key="AKIDEXAMPLE",
        secret_key=secret,
        region="us-east-1",
        service="service",
        now=datetime(2015, 8, 30, 12, 36, tzinfo=UTC),
    )
    assert vanilla["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )
    ses = sigv4_headers(
        method="POST",
        url="https://email.eu-west-1.amazonaws.com/v2/email/outbound-emails",
        headers={"content-type": "application/json"},
        body=b'{"FromEmailAddress":"a@example.com"}',
        access_key="AKIDEXAMPLE",
        secret_key=secret,
        region="eu-west-1",
        service="ses",
        now=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    assert ses["x-amz-date"] == "20240102T030405Z"
    assert ses["Authorization"].endswith(
        "Signature=c1ce4cde0f700edad595345fc7b9dd62ca4994a958227d18b116e0f7682b4be0"
    )


async def test_smtp_sends_mime_with_attachment(mailbox: Mailbox) -> None:
    creds = {"host": "127.0.0.1", "port": mailbox.port, "from": "team@acme.io", "senderName": "Acme"}
    await SmtpProvider(allow_private=True).send(email(to=["smtp-unit@example.com"]), creds)
    (msg,) = await mailbox.wait_for(1, "smtp-unit@example.com")
    assert msg["From"] == "Acme <team@acme.io>" and msg["Cc"] == "cc@example.com"
    assert msg["Reply-To"] == "reply@example.com" and msg["X-Campaign"] == "c1"
    assert msg["Message-ID"] == "<tidings-key-1@acme.io>"
    (att,) = list(msg.iter_attachments())
    assert att.get_filename() == "hello.txt" and att.get_content() == "hello attachment"
    (envelope,) = [e for e in mailbox.envelopes if "smtp-unit@example.com" in e.rcpt_tos]
    assert "bcc@example.com" in envelope.rcpt_tos and "Bcc" not in msg


async def test_smtp_closed_port_is_transient() -> None:
    with pytest.raises(ProviderError) as err:
        await SmtpProvider(allow_private=True, timeout=2).send(
            email(), {"host": "127.0.0.1", "port": free_port()}
        )
    assert not err.value.permanent


# -- error split -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "permanent"), [(400, True), (401, True), (403, True), (429, False), (500, False), (503, False)]
)
async def test_http_status_split(fake: FakeHttpProviders, status: int, permanent: bool) -> None:
    fake.fail("/emails", status, {"message": "nope"})
    with pytest.raises(ProviderError) as err:
        await ResendProvider(allow_private=True, base_urls={"resend": fake.url}).send(
            email(), {"apiKey": "k"}
        )
    assert err.value.permanent is permanent and err.value.status == status


async def test_connection_refused_is_transient_and_hides_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/secret-token-path"
    with pytest.raises(ProviderError) as err:
        await SlackProvider(allow_private=True).send(ChatMessage(webhook_url=url, content="hi"), {})
    assert not err.value.permanent and "secret-token-path" not in str(err.value)


# -- sms -------------------------------------------------------------------------------------------


async def test_twilio_request(fake: FakeHttpProviders) -> None:
    provider = TwilioProvider(allow_private=True, base_urls={"twilio": fake.url})
    sent = await provider.send(
        SmsMessage(to="+15550001", content="Code 1234"),
        {"accountSid": "AC1", "token": "tok", "from": "+15559999"},
    )
    assert sent.provider_message_id == "SM1"
    (req,) = fake.to("/2010-04-01/Accounts/AC1/Messages.json")
    assert req.headers["authorization"] == "Basic " + base64.b64encode(b"AC1:tok").decode()
    assert req.form == {"To": ["+15550001"], "From": ["+15559999"], "Body": ["Code 1234"]}


async def test_vonage_request_and_status_errors(fake: FakeHttpProviders) -> None:
    provider = VonageProvider(allow_private=True, base_urls={"nexmo": fake.url})
    creds = {"apiKey": "vk", "secretKey": "vs", "from": "Acme"}
    await provider.send(SmsMessage(to="+4470000", content="Hello", idempotency_key="k1"), creds)
    (req,) = fake.to("/sms/json")
    assert req.form == {
        "api_key": ["vk"],
        "api_secret": ["vs"],
        "from": ["Acme"],
        "to": ["4470000"],
        "text": ["Hello"],
        "client-ref": ["k1"],
    }
    fake.fail("/sms/json", 200, {"messages": [{"status": "6", "error-text": "Unroutable"}]}, times=1)
    with pytest.raises(ProviderError) as err:
        await provider.send(SmsMessage(to="+4470000", content="Hello"), creds)
    assert err.value.permanent
    fake.fail("/sms/json", 200, {"messages": [{"status": "1", "error-text": "Throttled"}]}, times=1)
    with pytest.raises(ProviderError) as err:
        await provider.send(SmsMessage(to="+4470000", content="Hello"), creds)
    assert not err.value.permanent


async def test_plivo_request(fake: FakeHttpProviders) -> None:
    provider = PlivoProvider(allow_private=True, base_urls={"plivo": fake.url})
    sent = await provider.send(
        SmsMessage(to="+15550001", content="Hi"), {"accountSid": "MA1", "token": "pt", "from": "+1555"}
    )
    assert sent.provider_message_id == "pl-1"
    (req,) = fake.to("/v1/Account/MA1/Message/")
    assert req.headers["authorization"] == "Basic " + base64.b64encode(b"MA1:pt").decode()
    assert req.json == {"src": "+1555", "dst": "+15550001", "text": "Hi"}


async def test_generic_sms_request(fake: FakeHttpProviders) -> None:
    fake.fail("/generic/sms", 200, {"result": {"messageId": "g-77"}}, times=1)
    creds = {
        "baseUrl": f"{fake.url}/generic/sms",
        "apiKeyRequestHeader": "X-Api-Key",
        "apiKey": "gk",
        "secretKeyRequestHeader": "X-Api-Secret",
        "secretKey": "gs",
        "from": "Acme",
        "idPath": "result.messageId",
    }
    sent = await GenericSmsProvider(allow_private=True).send(
        SmsMessage(to="+1", content="Yo", idempotency_key="k9"), creds
    )
    assert sent.provider_message_id == "g-77"
    (req,) = fake.to("/generic/sms")
    assert req.headers["x-api-key"] == "gk" and req.headers["x-api-secret"] == "gs"
    assert req.headers["idempotency-key"] == "k9"
    assert req.json == {"to": "+1", "content": "Yo", "from": "Acme", "idempotencyKey": "k9"}


# -- chat ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "path", "expected"),
    [
        (SlackProvider, "/slack/T1/B1/x", {"text": "Deploy done"}),
        (DiscordProvider, "/discord/api/webhooks/1/abc", {"content": "Deploy done"}),
        (MsTeamsProvider, "/teams/webhook", {"text": "Deploy done"}),
        (MattermostProvider, "/mattermost/hooks/xyz", {"text": "Deploy done"}),
    ],
)
async def test_chat_webhooks(
    fake: FakeHttpProviders, provider: type, path: str, expected: dict[str, str]
) -> None:
    await provider(allow_private=True).send(
        ChatMessage(webhook_url=fake.url + path, content="Deploy done"), {}
    )
    (req,) = fake.to(path)
    assert req.method == "POST" and req.json == expected


async def test_teams_adaptive_card_passes_through(fake: FakeHttpProviders) -> None:
    card = {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive"}]}
    await MsTeamsProvider(allow_private=True).send(
        ChatMessage(webhook_url=fake.url + "/teams/card", content=json.dumps(card)), {}
    )
    assert fake.to("/teams/card")[0].json == card


async def test_chat_webhook_is_signed(fake: FakeHttpProviders) -> None:
    msg = ChatMessage(webhook_url=fake.url + "/hook", content="Hi", idempotency_key="k1")
    await ChatWebhookProvider(allow_private=True).send(msg, {"secretKey": "shh"})
    (req,) = fake.to("/hook")
    assert req.json == {"content": "Hi", "idempotencyKey": "k1"}
    assert req.headers["x-tidings-signature"] == hmac.new(b"shh", req.body, hashlib.sha256).hexdigest()


async def test_slack_unknown_webhook_is_permanent(fake: FakeHttpProviders) -> None:
    fake.fail("/slack/gone", 404, {"error": "no_service"})
    with pytest.raises(ProviderError) as err:
        await SlackProvider(allow_private=True).send(
            ChatMessage(webhook_url=fake.url + "/slack/gone", content="x"), {}
        )
    assert err.value.permanent


# -- push ------------------------------------------------------------------------------------------


async def test_fcm_exchanges_service_account_jwt(fake: FakeHttpProviders) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    account = {
        "project_id": "demo",
        "client_email": "push@demo.iam.gserviceaccount.com",
        "private_key": pem,
        "private_key_id": "kid-1",
        "token_uri": f"{fake.url}/oauth/token",
    }
    provider = FcmProvider(allow_private=True, base_urls={"fcm": fake.url})
    msg = PushMessage(
        tokens=["tok-a", "tok-b"],
        title="Hi",
        content="Body",
        data={"n": 1},
        extra={"android": {"priority": "high"}},
    )
    sent = await provider.send(msg, {"serviceAccount": json.dumps(account)})
    assert sent.provider_message_id == "projects/demo/messages/fcm-1"
    (token_req,) = fake.to("/oauth/token")
    form = token_req.form
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assertion = form["assertion"][0]
    assert jwt.get_unverified_header(assertion)["kid"] == "kid-1"
    claims = jwt.decode(assertion, key.public_key(), algorithms=["RS256"], audience=f"{fake.url}/oauth/token")
    assert claims["iss"] == "push@demo.iam.gserviceaccount.com"
    assert claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
    sends = fake.to("/v1/projects/demo/messages:send")
    assert [r.json["message"]["token"] for r in sends] == ["tok-a", "tok-b"]
    assert sends[0].headers["authorization"] == "Bearer ya29.fake-token"
    assert sends[0].json["message"]["notification"] == {"title": "Hi", "body": "Body"}
    assert sends[0].json["message"]["data"] == {"n": "1"} and sends[0].json["message"]["android"] == {
        "priority": "high"
    }
    await provider.send(msg, {"serviceAccount": json.dumps(account)})
    assert len(fake.to("/oauth/token")) == 1  # the access token is cached


async def test_apns_over_http2(fake_apns: FakeApns) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    provider = ApnsProvider(
        client=httpx.AsyncClient(http1=False, http2=True), base_urls={"apns": fake_apns.url}
    )
    creds = {"secretKey": pem, "keyId": "KEY123", "teamId": "TEAM42", "bundleId": "io.acme.app"}
    msg = PushMessage(
        tokens=["devtok1"], title="Hi", content="Body", data={"deep": "link"}, idempotency_key="k1"
    )
    await provider.send(msg, creds)
    (req,) = fake_apns.requests
    assert req.headers[":method"] == "POST" and req.headers[":path"] == "/3/device/devtok1"
    assert req.headers["apns-topic"] == "io.acme.app" and req.headers["apns-push-type"] == "alert"
    token = req.headers["authorization"].removeprefix("bearer ")
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": "KEY123", "typ": "JWT"}
    assert jwt.decode(token, key.public_key(), algorithms=["ES256"])["iss"] == "TEAM42"
    assert req.json == {"aps": {"alert": {"title": "Hi", "body": "Body"}}, "deep": "link"}
    fake_apns.failures.append((410, "Unregistered"))
    with pytest.raises(ProviderError) as err:
        await provider.send(msg, creds)
    assert err.value.permanent


async def test_expo_request(fake: FakeHttpProviders) -> None:
    provider = ExpoProvider(allow_private=True, base_urls={"expo": fake.url})
    await provider.send(
        PushMessage(tokens=["ExponentPushToken[a]"], title="T", content="B"), {"apiKey": "expo-at"}
    )
    (req,) = fake.to("/--/api/v2/push/send")
    assert req.headers["authorization"] == "Bearer expo-at"
    assert req.json == [{"to": "ExponentPushToken[a]", "title": "T", "body": "B", "data": {}}]
    fake.fail(
        "/push/send",
        200,
        {"data": [{"status": "error", "details": {"error": "DeviceNotRegistered"}}]},
        times=1,
    )
    with pytest.raises(ProviderError) as err:
        await provider.send(PushMessage(tokens=["x"], title="T", content="B"), {})
    assert err.value.permanent


async def test_onesignal_request_is_idempotent(fake: FakeHttpProviders) -> None:
    provider = OneSignalProvider(allow_private=True, base_urls={"one-signal": fake.url})
    msg = PushMessage(tokens=["player-1"], title="T", content="B", idempotency_key="k1")
    await provider.send(msg, {"applicationId": "app-1", "apiKey": "os-key"})
    (req,) = fake.to("/api/v1/notifications")
    assert req.headers["authorization"] == "Basic os-key"
    body = req.json
    assert body["app_id"] == "app-1" and body["include_player_ids"] == ["player-1"]
    assert body["headings"] == {"en": "T"} and body["contents"] == {"en": "B"}
    assert len(body["idempotency_key"]) == 36
