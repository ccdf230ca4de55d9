"""Outbound webhooks: signed per Standard Webhooks (verified with the ``standardwebhooks`` library),
delivered durably by a Temporal workflow to a real receiver on loopback, retried, disabled on 410."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from store.db import Database
from store.webhook_events import SUBSCRIBER_CREATED, emit
from tests.fakes.fixtures import add_integration, fake_fixture, http_fakes_fixture  # noqa: F401  (fixtures)
from tests.fakes.http_api import FakeHttpProviders
from tests.fakes.webhook_receiver import Received, WebhookReceiver
from tests.support import Env, Mailbox, Stack, eventually, make_settings
from worker import build_worker


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def hooks_stack(
    pg_url: str, temporal_env: WorkflowEnvironment, mailbox: Mailbox, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """A stack allowed to call loopback, retrying failed deliveries after 0.2 s instead of 5 s."""
    settings = make_settings(
        database_url=pg_url,
        task_queue=f"tidings-test-hooks-{secrets.token_hex(3)}",
        smtp_port=mailbox.port,
        data_dir=str(tmp_path_factory.mktemp("hooks")),
        allow_private_destinations=True,
        webhook_retry_initial_seconds=0.2,
        webhook_retry_max_seconds=0.5,
    )
    db = Database(pg_url)
    app = create_app(settings, db=db, temporal=temporal_env.client)
    worker = build_worker(client=temporal_env.client, db=db, settings=settings)
    async with app.router.lifespan_context(app), worker:
        stack = Stack(
            name="hooks",
            db=db,
            client=temporal_env.client,
            settings=settings,
            app=app,
            worker=worker,
            mailbox=mailbox,
        )
        yield stack
        await stack.close_clients()
    await db.dispose()


@pytest.fixture
async def henv(hooks_stack: Stack, receiver: WebhookReceiver) -> AsyncIterator[Env]:
    receiver.reset()
    yield await hooks_stack.new_env()
    await hooks_stack.truncate()


async def add_endpoint(env: Env, url: str, **extra: Any) -> dict[str, Any]:
    resp = await env.http.post("/v1/webhooks", json={"url": url, **extra})
    assert resp.status_code == 201, resp.text
    return resp.json()["data"]  # type: ignore[no-any-return]


def verified(secret: str, request: Received) -> dict[str, Any]:
    """The payload, after the standard library checked the signature (raises when it does not match)."""
    return Webhook(secret).verify(request.body, request.headers)  # type: ignore[no-any-return]


async def arrivals(receiver: WebhookReceiver, path: str, count: int) -> list[Received]:
    async def check() -> list[Received] | None:
        found = receiver.at(path)
        return found if len(found) >= count else None

    return await eventually(check, timeout=30)  # type: ignore[no-any-return]


async def test_signed_event_verifies_with_standard_library(henv: Env, receiver: WebhookReceiver) -> None:
    created = await add_endpoint(henv, receiver.url("/a"), description="CRM sync")
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24
    assert created["events"] == [] and created["active"] is True

    listed = (await henv.http.get("/v1/webhooks")).json()["data"]
    assert [e["_id"] for e in listed] == [created["_id"]] and "secret" not in listed[0]
    shown = (await henv.http.get(f"/v1/webhooks/{created['_id']}/secret")).json()["data"]
    assert shown == {"secret": secret}

    resp = await henv.http.post("/v1/subscribers", json={"subscriberId": "ada", "email": "ada@example.com"})
    assert resp.status_code == 201
    (request,) = await arrivals(receiver, "/a", 1)
    payload = verified(secret, request)
    assert payload["type"] == "subscriber.created"
    assert payload["data"]["subscriberId"] == "ada"
    assert request.headers["webhook-id"].startswith("msg_")
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(request.body, request.headers)
    tampered = request.body.replace(b"ada", b"eve")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, request.headers)


async def test_event_filter_and_environment_isolation(
    henv: Env, hooks_stack: Stack, receiver: WebhookReceiver
) -> None:
    only_deleted = await add_endpoint(henv, receiver.url("/deleted"), events=["subscriber.deleted"])
    everything = await add_endpoint(henv, receiver.url("/all"))
    other = await hooks_stack.new_env()
    assert (await other.http.get(f"/v1/webhooks/{everything['_id']}")).status_code == 404
    assert (await other.http.get(f"/v1/webhooks/{everything['_id']}/secret")).status_code == 404
    assert (await other.http.get("/v1/webhooks")).json()["data"] == []
    await other.http.post("/v1/subscribers", json={"subscriberId": "other-env"})

    await henv.http.post("/v1/subscribers", json={"subscriberId": "bo"})
    assert (await henv.http.delete("/v1/subscribers/bo")).status_code == 200
    got = [verified(everything["secret"], r)["type"] for r in await arrivals(receiver, "/all", 2)]
    assert sorted(got) == ["subscriber.created", "subscriber.deleted"]
    (deleted,) = await arrivals(receiver, "/deleted", 1)
    assert verified(only_deleted["secret"], deleted)["data"]["subscriberId"] == "bo"
    # The other environment's subscriber was never offered to these endpoints.
    rows = await henv.sql("SELECT count(*) FROM webhook_deliveries WHERE environment_id = :e", e=other.id)
    assert rows[0][0] == 0


async def test_retry_after_500_keeps_the_webhook_id(henv: Env, receiver: WebhookReceiver) -> None:
    endpoint = await add_endpoint(henv, receiver.url("/flaky"))
    receiver.script.extend([500, 503])
    await henv.http.post("/v1/subscribers", json={"subscriberId": "cy"})
    first, second, third = await arrivals(receiver, "/flaky", 3)
    assert [first.answered, second.answered, third.answered] == [500, 503, 204]
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == third.headers["webhook-id"]
    assert verified(endpoint["secret"], third)["data"]["subscriberId"] == "cy"

    async def settled() -> list[dict[str, Any]] | None:
        resp = await henv.http.get(f"/v1/webhooks/{endpoint['_id']}/deliveries")
        data = resp.json()["data"]
        return data if data and data[0]["status"] == "succeeded" else None

    (delivery,) = await eventually(settled)
    assert delivery["attempts"] == 3 and delivery["lastStatusCode"] == 204
    assert delivery["webhookId"] == first.headers["webhook-id"]

    # Re-sending one delivery posts the same event again under the same webhook-id.
    resp = await henv.http.post(f"/v1/webhooks/{endpoint['_id']}/deliveries/{delivery['_id']}/resend")
    assert resp.status_code == 201, resp.text
    again = (await arrivals(receiver, "/flaky", 4))[3]
    assert again.headers["webhook-id"] == first.headers["webhook-id"]
    assert json.loads(again.body) == json.loads(third.body)


async def test_410_disables_the_endpoint(henv: Env, receiver: WebhookReceiver) -> None:
    endpoint = await add_endpoint(henv, receiver.url("/gone"))
    receiver.script.append(410)
    await henv.http.post("/v1/subscribers", json={"subscriberId": "dee"})
    await arrivals(receiver, "/gone", 1)

    async def disabled() -> dict[str, Any] | None:
        data = (await henv.http.get(f"/v1/webhooks/{endpoint['_id']}")).json()["data"]
        return data if data["active"] is False else None

    view = await eventually(disabled)
    assert "410" in view["disabledReason"]
    deliveries = (await henv.http.get(f"/v1/webhooks/{endpoint['_id']}/deliveries")).json()["data"]
    assert [(d["status"], d["attempts"]) for d in deliveries] == [("failed", 1)]
    # A disabled endpoint is offered nothing more; re-activating it resumes delivery.
    await henv.http.post("/v1/subscribers", json={"subscriberId": "eli"})
    rows = await henv.sql("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = :e", e=endpoint["_id"])
    assert rows[0][0] == 1
    resp = await henv.http.patch(f"/v1/webhooks/{endpoint['_id']}", json={"active": True})
    assert resp.json()["data"]["active"] is True and resp.json()["data"]["disabledReason"] is None
    await henv.http.post("/v1/subscribers", json={"subscriberId": "fay"})
    later = (await arrivals(receiver, "/gone", 2))[1]
    assert verified(endpoint["secret"], later)["data"]["subscriberId"] == "fay"


async def test_outbox_relay_delivers_rows_whose_start_was_lost(
    henv: Env, hooks_stack: Stack, receiver: WebhookReceiver
) -> None:
    """The process died between the commit and the workflow start: the relay starts the delivery."""
    endpoint = await add_endpoint(henv, receiver.url("/relay"))
    crashed = Database(hooks_stack.settings.database_url)  # no after-commit hook: nothing is started
    try:
        async with crashed.session() as session:
            (delivery_id,) = await emit(
                session, environment_id=henv.id, event=SUBSCRIBER_CREATED, data={"subscriberId": "ghost"}
            )
    finally:
        await crashed.dispose()
    rows = await henv.sql("SELECT dispatched_at FROM webhook_deliveries WHERE id = :i", i=delivery_id)
    assert rows[0][0] is None
    from datetime import timedelta

    started = await hooks_stack.app.state.webhooks.relay(older_than=timedelta(0))
    assert started == 1
    (request,) = await arrivals(receiver, "/relay", 1)
    assert request.headers["webhook-id"] == f"msg_{delivery_id}"
    assert verified(endpoint["secret"], request)["data"]["subscriberId"] == "ghost"


async def test_private_destinations_refused_by_default(env: Env) -> None:
    # The test stacks allow private destinations (their fakes live on loopback); production does not.
    settings = env.stack.app.state.settings
    settings.allow_private_destinations = False
    try:
        for url in (
            "http://127.0.0.1:9/x",
            "http://10.1.2.3/x",
            "http://169.254.169.254/latest",
            "http://[::1]/",
        ):
            resp = await env.http.post("/v1/webhooks", json={"url": url})
            assert resp.status_code == 400, (url, resp.text)
            assert "private" in resp.json()["message"][0]
    finally:
        settings.allow_private_destinations = True
    resp = await env.http.post("/v1/webhooks", json={"url": "ftp://example.com/"})
    assert resp.status_code == 400
    resp = await env.http.post("/v1/webhooks", json={"url": "https://example.com/h", "events": ["nope"]})
    assert resp.status_code == 400 and resp.json()["error"] == "Bad Request"
    assert (await env.http.get("/v1/webhooks")).json()["data"] == []


TWO_STEPS = {
    "name": "Hooked",
    "notificationGroup": {"name": "General"},
    "active": True,
    "steps": [
        {"template": {"type": "in_app", "content": "Hi {{name}}"}},
        {"template": {"type": "email", "subject": "Hi", "content": "<p>{{name}}</p>"}},
    ],
}


async def test_trigger_emits_message_and_completion_events(henv: Env, receiver: WebhookReceiver) -> None:
    endpoint = await add_endpoint(henv, receiver.url("/tx"))
    wf = (await henv.http.post("/v1/workflows", json=TWO_STEPS)).json()["data"]
    identifier = wf["triggers"][0]["identifier"]
    resp = await henv.trigger(
        identifier, {"subscriberId": "hal", "email": "hal@example.com"}, {"name": "Hal"}
    )
    tx = resp.json()["data"]["transactionId"]
    await henv.settle(tx)

    def of_type(kind: str) -> list[dict[str, Any]]:
        payloads = [verified(endpoint["secret"], r) for r in receiver.at("/tx")]
        return [p["data"] for p in payloads if p["type"] == kind]

    async def all_arrived() -> bool:
        return len(of_type("message.sent")) == 2 and len(of_type("workflow.completed")) == 1

    await eventually(all_arrived, timeout=30)
    assert len(of_type("workflow.created")) == 1
    sent = sorted(of_type("message.sent"), key=lambda d: d["channel"])
    assert [(d["channel"], d["providerId"]) for d in sent][0][0] == "email"
    assert all(d["transactionId"] == tx and d["subscriberId"] == "hal" for d in sent)
    assert all(d["workflowId"] == identifier and d["stepId"] and d["_id"] for d in sent)
    (done,) = of_type("workflow.completed")
    assert done["transactionId"] == tx and done["status"] == "completed"
    assert done["subscribers"] == 1 and done["counts"]["sent"] == 2

    in_app = next(d for d in sent if d["channel"] == "in_app")
    resp = await henv.http.post(
        "/v1/subscribers/hal/messages/mark-as", json={"messageId": in_app["_id"], "markAs": "read"}
    )
    assert resp.status_code == 201, resp.text
    resp = await henv.http.patch(
        "/v1/subscribers/hal/preferences", json={"preferences": [{"type": "email", "enabled": False}]}
    )
    assert resp.status_code == 200, resp.text

    async def marked() -> bool:
        return bool(of_type("message.read") and of_type("message.seen") and of_type("preference.updated"))

    await eventually(marked)
    assert of_type("message.read")[0]["_id"] == in_app["_id"]
    assert of_type("preference.updated")[0]["channels"] == {"email": False}

    # The Inbox (a browser session) changes the same message: the same one entry point emits the event.
    from tests.inbox_support import open_session

    browser, _ = await open_session(henv, "hal")
    archived = await browser.patch(f"/v1/inbox/notifications/{in_app['_id']}/archive")
    assert archived.status_code == 200, archived.text

    async def archived_event() -> bool:
        return bool(of_type("message.archived"))

    await eventually(archived_event)
    assert of_type("message.archived")[0] == {**of_type("message.read")[0]}


async def test_provider_rejection_emits_message_failed(
    henv: Env, receiver: WebhookReceiver, fake: FakeHttpProviders
) -> None:
    endpoint = await add_endpoint(henv, receiver.url("/failed"), events=["message.failed", "message.sent"])
    fake.fail("/v3/mail/send", 401, {"errors": [{"message": "The provided authorization grant is invalid"}]})
    sendgrid = await add_integration(
        henv, "sendgrid", "email", {"apiKey": "SG.secret-key", "baseUrl": fake.url, "from": "a@acme.io"}
    )
    assert (await henv.http.post(f"/v1/integrations/{sendgrid['_id']}/set-primary")).status_code == 200
    wf = (await henv.http.post("/v1/workflows", json={**TWO_STEPS, "steps": TWO_STEPS["steps"][1:]})).json()
    identifier = wf["data"]["triggers"][0]["identifier"]
    resp = await henv.trigger(
        identifier, {"subscriberId": "ivy", "email": "ivy@example.com"}, {"name": "Ivy"}
    )
    await henv.settle(resp.json()["data"]["transactionId"])
    (request,) = await arrivals(receiver, "/failed", 1)
    event = verified(endpoint["secret"], request)
    assert event["type"] == "message.failed"
    data = event["data"]
    assert data["subscriberId"] == "ivy" and data["providerId"] == "sendgrid" and data["channel"] == "email"
    assert "401" in data["error"] and "SG.secret-key" not in request.body.decode()
