"""Failover through the worker: transient failures move to the next integration, permanent ones do not."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from activities.senders.selection import conditions_pass, failover_order
from tests.fakes.fixtures import add_integration, details, fake_fixture, http_fakes_fixture  # noqa: F401  (fixtures)
from tests.fakes.http_api import FakeHttpProviders
from tests.support import Env, Stack
from tidings.devserver import free_port


async def smtp_integration(env: Env) -> dict[str, Any]:
    listed = (await env.http.get("/v1/integrations")).json()["data"]
    return next(i for i in listed if i["providerId"] == "nodemailer")


async def test_closed_primary_fails_over_to_second_smtp(env: Env, stack: Stack) -> None:
    primary = await smtp_integration(env)
    resp = await env.http.put(
        f"/v1/integrations/{primary['_id']}",
        json={"credentials": {"host": "127.0.0.1", "port": free_port(), "from": "down@acme.io"}},
    )
    assert resp.status_code == 200
    backup = await add_integration(
        env,
        "nodemailer",
        "email",
        {"host": "127.0.0.1", "port": stack.mailbox.port, "from": "backup@acme.io", "password": "smtp-pass"},
        identifier="smtp-backup",
    )
    await env.trigger(
        "welcome", {"subscriberId": "fo", "email": "fo@example.com"}, {"name": "Fo"}, transactionId="fo-1"
    )
    await env.settle("fo-1")
    (mail,) = await stack.mailbox.wait_for(1, "fo@example.com")
    assert mail["From"].addresses[0].addr_spec == "backup@acme.io"
    assert len(stack.mailbox.to("fo@example.com")) == 1
    rows = await details(env, "fo-1")
    failed = [r for r in rows if r.detail == "Unexpected provider error"]
    assert len(failed) == stack.settings.provider_attempts
    assert {r.status for r in failed} == {"Warning"}
    assert all(r.raw["outcome"] == "transient" and r.raw["providerId"] == "nodemailer" for r in failed)
    assert [r.raw["attempt"] for r in failed] == list(range(1, stack.settings.provider_attempts + 1))
    selected = [r.raw["identifier"] for r in rows if r.detail == "Integration instance selected"]
    assert selected == [primary["identifier"], "smtp-backup"]
    assert any(r.detail == "Message sent" for r in rows)
    assert all("smtp-pass" not in str(r.raw) for r in rows)  # credentials never reach execution details
    (msg,) = await env.sql(
        "select status, integration_id from messages where transaction_id = 'fo-1' and channel = 'email'"
    )
    assert msg.status == "sent" and msg.integration_id == backup["_id"]


async def test_permanent_error_does_not_fail_over(env: Env, stack: Stack, fake: FakeHttpProviders) -> None:
    fake.fail("/v3/mail/send", 401, {"errors": [{"message": "The provided authorization grant is invalid"}]})
    sendgrid = await add_integration(
        env, "sendgrid", "email", {"apiKey": "SG.bad", "baseUrl": fake.url, "from": "a@acme.io"}
    )
    assert (await env.http.post(f"/v1/integrations/{sendgrid['_id']}/set-primary")).status_code == 200
    await env.trigger(
        "welcome", {"subscriberId": "pe", "email": "pe@example.com"}, {"name": "Pe"}, transactionId="pe-1"
    )
    await env.settle("pe-1")
    assert len(fake.to("/v3/mail/send")) == 1  # no retry
    assert stack.mailbox.to("pe@example.com") == []  # no failover to SMTP
    rows = await details(env, "pe-1")
    failed = [r for r in rows if r.detail == "Unexpected provider error"]
    assert [r.status for r in failed] == ["Failed", "Failed"]
    assert failed[0].raw["outcome"] == "permanent" and "SG.bad" not in str(failed[0].raw)
    (msg,) = await env.sql(
        "select status, error_text from messages where transaction_id = 'pe-1' and channel = 'email'"
    )
    assert msg.status == "error" and "401" in msg.error_text


async def test_http_5xx_fails_over_to_http_provider(env: Env, stack: Stack, fake: FakeHttpProviders) -> None:
    fake.fail("/email", 503, {"Message": "down"})
    postmark = await add_integration(
        env, "postmark", "email", {"apiKey": "pm", "baseUrl": fake.url, "from": "a@acme.io"}
    )
    await env.http.post(f"/v1/integrations/{postmark['_id']}/set-primary")
    await env.trigger(
        "welcome", {"subscriberId": "hx", "email": "hx@example.com"}, {"name": "Hx"}, transactionId="hx-1"
    )
    await env.settle("hx-1")
    assert len(fake.to("/email")) == stack.settings.provider_attempts
    # The next integration by priority is the bootstrap SMTP one.
    assert len(await stack.mailbox.wait_for(1, "hx@example.com")) == 1


def integ(**fields: Any) -> Any:
    values = {
        "id": "i",
        "identifier": "x",
        "primary": False,
        "priority": 0,
        "conditions": [],
        "created_at": 0,
    }
    return SimpleNamespace(**{**values, **fields})


def test_selection_order_and_tenant_conditions() -> None:
    acme = [
        {
            "value": "AND",
            "children": [{"on": "tenant", "field": "identifier", "operator": "EQUAL", "value": "acme"}],
        }
    ]
    a = integ(identifier="a", priority=1)
    b = integ(identifier="b", primary=True, priority=0)
    c = integ(identifier="c", priority=5)
    t = integ(identifier="t", conditions=acme)
    order = failover_order([a, b, c, t], tenant=None, identifier=None)  # type: ignore[list-item]
    assert [i.identifier for i in order] == ["b", "c", "a"]
    order = failover_order([a, b, c, t], tenant={"identifier": "acme"}, identifier=None)  # type: ignore[list-item]
    assert [i.identifier for i in order] == ["t", "b", "c", "a"]
    assert [i.identifier for i in failover_order([a, b], tenant=None, identifier="a")] == ["a"]  # type: ignore[list-item]
    assert not conditions_pass(acme, {"identifier": "other"})
    either = [{"value": "OR", "children": [
        {"on": "tenant", "field": "data.plan", "operator": "IN", "value": "pro"},
        {"on": "tenant", "field": "data.seats", "operator": "LARGER", "value": "10"},
    ]}]  # fmt: skip
    assert conditions_pass(either, {"data": {"plan": "pro-annual", "seats": 1}})
    assert conditions_pass(either, {"data": {"plan": "free", "seats": 20}})
    assert not conditions_pass(either, {"data": {"plan": "free", "seats": 2}})
