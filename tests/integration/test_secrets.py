"""Secrets stay where their owner put them (issue 13 rows 5 and 12).

Row 5: a PUT that keeps a masked secret (``********``) while moving the integration to a new host would
send the real key to that host; the operator's SMTP login must not be copied into tenants' integrations.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import text

from activities.providers.base import EmailMessage, ProviderError
from activities.providers.smtp import SmtpProvider
from store.crypto import CredentialCipher, derive_key, legacy_key
from tests.fakes.fixtures import add_integration, details, fake_fixture, http_fakes_fixture  # noqa: F401
from tests.fakes.http_api import FakeHttpProviders
from tests.support import Env, Mailbox, Stack
from tidings.bootstrap import create_environment_key
from tidings.settings import Settings


async def stored(env: Env, integration_id: str) -> dict[str, object]:
    (raw,) = await env.sql("select credentials_encrypted from integrations where id = :i", i=integration_id)
    return CredentialCipher(env.stack.settings.secret_key).decrypt(raw[0])


@pytest.mark.parametrize(
    ("provider", "channel", "secret", "moved"),
    [
        ("sendgrid", "email", {"apiKey": "SG.real"}, {"baseUrl": "https://attacker.example"}),
        ("generic-sms", "sms", {"apiKey": "real", "secretKey": "s"}, {"apiKeyRequestHeader": "X-Log"}),
        ("nodemailer", "email", {"password": "smtp-real", "user": "u"}, {"host": "attacker.example"}),
        ("ses", "email", {"secretKey": "aws-real", "apiKey": "AKIA"}, {"region": "attacker-1"}),
    ],
)
async def test_moving_an_integration_needs_its_secrets_again(
    env: Env, provider: str, channel: str, secret: dict[str, str], moved: dict[str, str]
) -> None:
    original = {"baseUrl": "https://api.example", "host": "smtp.example", **secret}
    created = await add_integration(env, provider, channel, original)
    masked = {k: v for k, v in created["credentials"].items()}
    assert any(v == "********" for v in masked.values())
    # The attack: keep the masked secret, point the integration somewhere else.
    resp = await env.http.put(f"/v1/integrations/{created['_id']}", json={"credentials": {**masked, **moved}})
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["error"] == "Bad Request" and "send" in body["message"] and "again" in body["message"]
    assert await stored(env, created["_id"]) == original  # nothing written
    # Sending the secrets again is the way to move it.
    resent = {**masked, **moved, **{k: v + "-new" for k, v in secret.items()}}
    resp = await env.http.put(f"/v1/integrations/{created['_id']}", json={"credentials": resent})
    assert resp.status_code == 200, resp.text
    assert await stored(env, created["_id"]) == {
        **original,
        **moved,
        **{k: v + "-new" for k, v in secret.items()},
    }
    # Keeping masked secrets without moving stays allowed (Novu's dashboard does exactly that).
    same = {**resp.json()["data"]["credentials"], "from": "new@acme.io"}
    resp = await env.http.put(f"/v1/integrations/{created['_id']}", json={"credentials": same})
    assert resp.status_code == 200, resp.text
    assert (await stored(env, created["_id"]))["from"] == "new@acme.io"


async def test_moved_integration_never_sends_the_old_key(env: Env, fake: FakeHttpProviders) -> None:
    created = await add_integration(
        env, "resend", "email", {"apiKey": "re_real", "baseUrl": fake.url, "from": "a@acme.io"}
    )
    await env.http.post(f"/v1/integrations/{created['_id']}/set-primary")
    evil = f"{fake.url}/attacker"
    resp = await env.http.put(
        f"/v1/integrations/{created['_id']}",
        json={"credentials": {**created["credentials"], "baseUrl": evil}},
    )
    assert resp.status_code == 400
    await env.trigger(
        "welcome", {"subscriberId": "mv", "email": "mv@example.com"}, {"name": "M"}, transactionId="mv"
    )
    await env.settle("mv")
    assert fake.to("/attacker") == []
    assert [r.headers["authorization"] for r in fake.to("/emails")] == ["Bearer re_real"]


async def test_bootstrap_does_not_copy_the_operator_smtp_login(stack: Stack) -> None:
    settings = stack.settings.model_copy(update={"smtp_user": "operator", "smtp_password": "operator-pass"})
    env_id, _key, created = await create_environment_key(stack.db, settings, organization="op-org")
    assert created
    async with stack.db.session() as session:
        from sqlmodel import select

        from store.models import Integration

        rows = (await session.exec(select(Integration).where(Integration.environment_id == env_id))).all()
    smtp = next(r for r in rows if r.provider_id == "nodemailer")
    credentials = CredentialCipher(settings.secret_key).decrypt(smtp.credentials_encrypted)
    assert "operator-pass" not in str(credentials) and "operator" not in str(credentials.get("user", ""))
    assert credentials["host"] == settings.smtp_host and str(credentials["port"]) == str(settings.smtp_port)


def _mail(to: str) -> EmailMessage:
    return EmailMessage(to=[to], subject="s", html="<p>h</p>", text="h")


async def test_operator_login_is_used_only_for_the_operator_relay(mailbox: Mailbox) -> None:
    """The test relay offers no AUTH: a send that tries to log in fails, one that does not is delivered."""
    relay = ("127.0.0.1", mailbox.port)
    smtp = SmtpProvider(allow_private=True, timeout=5, trusted=relay, operator_login=("operator", "op-pass"))
    with pytest.raises(ProviderError):  # the operator's relay: the operator's login is used
        await smtp.send(_mail("relay@example.com"), {"host": "127.0.0.1", "port": mailbox.port})
    # The same server under another name is a tenant's host: no operator login is offered to it.
    await smtp.send(_mail("tenant@example.com"), {"host": "localhost", "port": mailbox.port})
    assert len(await mailbox.wait_for(1, "tenant@example.com")) == 1
    assert mailbox.to("relay@example.com") == []


# -- row 12: files and keys at rest ----------------------------------------------------------------


async def test_data_dir_secret_and_database_are_private(tmp_path: Path) -> None:
    from tests.integration.test_cli import run_cli

    data = tmp_path / "data"
    old = os.umask(0)  # the most permissive umask: the modes below come from Tidings, not the shell
    try:
        code, _out, err = await run_cli("keys", "create", data_dir=data)
        key = Settings(data_dir=data).resolved_secret_key()
    finally:
        os.umask(old)
    assert code == 0, err
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "secret.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "tidings.db").stat().st_mode) == 0o600
    assert len(key) > 30 and Settings(data_dir=data).resolved_secret_key() == key


def test_key_is_derived_with_hkdf_and_old_values_still_read() -> None:
    legacy = Fernet(legacy_key("s3cret")).encrypt(b'{"apiKey":"old"}').decode()
    cipher = CredentialCipher("s3cret")
    assert cipher.decrypt(legacy) == {"apiKey": "old"}  # written before HKDF: still readable
    assert not cipher.is_current(legacy) and cipher.is_current(cipher.rotate(legacy))
    fresh = cipher.encrypt({"apiKey": "new"})
    with pytest.raises(InvalidToken):  # new values are not under the bare SHA-256 key
        Fernet(legacy_key("s3cret")).decrypt(fresh.encode())
    assert derive_key("s3cret") != legacy_key("s3cret")


def test_key_rotation_reads_previous_and_writes_current() -> None:
    before = CredentialCipher("old-secret").encrypt({"token": "t"})
    rotated = CredentialCipher("new-secret", "old-secret")
    assert rotated.decrypt(before) == {"token": "t"}
    after = rotated.rotate(before)
    assert CredentialCipher("new-secret").decrypt(after) == {"token": "t"}  # previous no longer needed
    with pytest.raises(ValueError, match="cannot be decrypted"):
        CredentialCipher("new-secret").decrypt(before)


async def test_rotate_secrets_reencrypts_what_is_stored(env: Env, stack: Stack) -> None:
    from store.rotation import reencrypt_all

    created = await add_integration(env, "twilio", "sms", {"accountSid": "AC", "token": "tok"})
    legacy = Fernet(legacy_key(stack.settings.secret_key)).encrypt(b'{"accountSid":"AC","token":"tok"}')
    async with stack.db.session() as session:
        await session.exec(  # type: ignore[call-overload]
            text("update integrations set credentials_encrypted = :c where id = :i"),
            params={"c": legacy.decode(), "i": created["_id"]},
        )
    cipher = stack.settings.credential_cipher()
    async with stack.db.session() as session:
        assert await reencrypt_all(session=session, cipher=cipher) >= 1
    (raw,) = await env.sql("select credentials_encrypted from integrations where id = :i", i=created["_id"])
    assert cipher.is_current(raw[0]) and cipher.decrypt(raw[0]) == {"accountSid": "AC", "token": "tok"}
    async with stack.db.session() as session:
        assert await reencrypt_all(session=session, cipher=cipher) == 0
