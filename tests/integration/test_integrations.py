"""``/v1/integrations``: Novu's create rules, primary and priority, masking, encryption at rest, isolation."""

from __future__ import annotations

from store.crypto import CredentialCipher
from tests.support import Env, Stack


async def test_create_defaults_and_rules(env: Env) -> None:
    resp = await env.http.post(
        "/v1/integrations",
        json={
            "providerId": "sendgrid",
            "channel": "email",
            "credentials": {"apiKey": "SG.secret", "from": "a@b.io"},
        },
    )
    assert resp.status_code == 201, resp.text
    data = resp.json()["data"]
    assert data["name"] == "SendGrid" and data["identifier"].startswith("sendgrid-")
    assert data["active"] is False and data["primary"] is False
    assert data["credentials"] == {"apiKey": "********", "from": "a@b.io"}
    dup = await env.http.post(
        "/v1/integrations",
        json={"providerId": "mailgun", "channel": "email", "identifier": data["identifier"]},
    )
    assert dup.status_code == 409 and dup.json()["message"] == "Integration with identifier already exists"
    in_app = await env.http.post("/v1/integrations", json={"providerId": "novu", "channel": "in_app"})
    assert in_app.status_code == 400
    assert in_app.json()["message"] == "One environment can only have one In app provider"
    missing = await env.http.post("/v1/integrations", json={"channel": "email"})
    assert (
        missing.status_code == 400
        and "providerId should not be null or undefined" in missing.json()["message"]
    )


async def test_primary_priority_and_set_primary(env: Env) -> None:
    # The bootstrap SMTP integration is the active primary, so new active ones get the next priority.
    listed = (await env.http.get("/v1/integrations")).json()["data"]
    smtp = next(i for i in listed if i["providerId"] == "nodemailer")
    assert smtp["primary"] is True
    body = {"providerId": "resend", "channel": "email", "active": True, "credentials": {"apiKey": "k"}}
    first = (await env.http.post("/v1/integrations", json=body)).json()["data"]
    second = (await env.http.post("/v1/integrations", json={**body, "providerId": "postmark"})).json()["data"]
    assert first["primary"] is False and second["primary"] is False
    assert second["priority"] == first["priority"] + 1
    sms = (
        await env.http.post(
            "/v1/integrations", json={"providerId": "twilio", "channel": "sms", "active": True}
        )
    ).json()["data"]
    assert sms["primary"] is True  # the first active SMS integration
    resp = await env.http.post(f"/v1/integrations/{second['_id']}/set-primary")
    assert resp.status_code == 200 and resp.json()["data"]["primary"] is True
    after = {i["_id"]: i for i in (await env.http.get("/v1/integrations")).json()["data"]}
    assert after[smtp["_id"]]["primary"] is False and after[second["_id"]]["primary"] is True
    chat = (await env.http.post("/v1/integrations", json={"providerId": "slack", "channel": "chat"})).json()[
        "data"
    ]
    refused = await env.http.post(f"/v1/integrations/{chat['_id']}/set-primary")
    assert refused.status_code == 400


async def test_update_keeps_masked_secrets_and_delete_returns_rest(env: Env, stack: Stack) -> None:
    created = (
        await env.http.post(
            "/v1/integrations",
            json={
                "providerId": "twilio",
                "channel": "sms",
                "credentials": {"accountSid": "AC1", "token": "t0p"},
            },
        )
    ).json()["data"]
    resp = await env.http.put(
        f"/v1/integrations/{created['_id']}",
        json={"name": "Twilio EU", "active": True, "credentials": {"accountSid": "AC2", "token": "********"}},
    )
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    assert data["name"] == "Twilio EU" and data["active"] is True and data["primary"] is True
    (raw,) = await env.sql("select credentials_encrypted from integrations where id = :i", i=created["_id"])
    assert "t0p" not in raw[0] and "AC2" not in raw[0]  # encrypted at rest
    assert CredentialCipher(stack.settings.secret_key).decrypt(raw[0]) == {
        "accountSid": "AC2",
        "token": "t0p",
    }
    active = (await env.http.get("/v1/integrations/active")).json()["data"]
    assert created["_id"] in [i["_id"] for i in active]
    remaining = await env.http.delete(f"/v1/integrations/{created['_id']}")
    assert remaining.status_code == 200
    assert created["_id"] not in [i["_id"] for i in remaining.json()["data"]]
    assert len(remaining.json()["data"]) == 2  # the bootstrap in-app and SMTP integrations
    gone = await env.http.put(f"/v1/integrations/{created['_id']}", json={"name": "x"})
    assert gone.status_code == 404


async def test_environments_never_see_each_other(env: Env, stack: Stack) -> None:
    other = await stack.new_env()
    created = (
        await other.http.post("/v1/integrations", json={"providerId": "slack", "channel": "chat"})
    ).json()["data"]
    assert created["_id"] not in [i["_id"] for i in (await env.http.get("/v1/integrations")).json()["data"]]
    assert (await env.http.delete(f"/v1/integrations/{created['_id']}")).status_code == 404
    assert (await env.http.post(f"/v1/integrations/{created['_id']}/set-primary")).status_code == 404


async def test_conditions_are_stored(env: Env) -> None:
    conditions = [
        {"isNegated": False, "type": "GROUP", "value": "AND", "children": [
            {"on": "tenant", "field": "identifier", "value": "acme", "operator": "EQUAL"}
        ]}
    ]  # fmt: skip
    data = (
        await env.http.post(
            "/v1/integrations", json={"providerId": "postmark", "channel": "email", "conditions": conditions}
        )
    ).json()["data"]
    assert data["conditions"] == conditions
