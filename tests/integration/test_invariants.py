"""The invariants the README promises, each checked end to end where a planted bug once survived.

Every test here was verified against a planted bug (see ``docs/mutation-report.md``): duplicate
transactions start one Temporal run, a tenant override reaches delivery, the backoff look-back is
serialized, a window claims only pending events, failover follows priority and tenant conditions.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from tests.fakes.fixtures import (  # noqa: F401  (fixtures)
    add_integration,
    add_workflow,
    details,
    fake_fixture,
    http_fakes_fixture,
    set_channels,
)
from tests.fakes.http_api import FakeHttpProviders
from tests.support import Env, Stack, eventually
from tests.timing_support import (
    define,
    digest,
    digest_accumulator,
    in_app,
    in_app_contents,
    settle_digests,
    step,
)
from tidings.devserver import free_port
from workflows.models import DIGEST_ACCUMULATOR_WORKFLOW, AccumulatorInput, DigestSignal, execution_id


async def run_ids(env: Env, transaction_id: str) -> list[str]:
    """Every Temporal run recorded under the transaction's workflow ID (visibility, all runs)."""
    wid = execution_id(env.id, transaction_id)
    return [w.run_id async for w in env.stack.client.list_workflows(f'WorkflowId = "{wid}"')]


async def latest_run(env: Env, transaction_id: str) -> str:
    """The newest run's ID, read from the server itself (strongly consistent, unlike visibility)."""
    handle = env.stack.client.get_workflow_handle(execution_id(env.id, transaction_id))
    return str((await handle.describe()).run_id)


async def assert_one_run(env: Env, transaction_id: str, first_run: str) -> None:
    assert await latest_run(env, transaction_id) == first_run
    # Visibility may lag, but never shows a run that did not start: once it lists the first run,
    # a second one started before it would be listed as well.
    listed = await eventually(lambda: run_ids(env, transaction_id))
    assert listed == [first_run]


async def test_duplicate_transaction_never_starts_a_second_run_of_a_delay(env: Env) -> None:
    """While the delay is pending and after it completed, a repeated transactionId starts nothing."""
    await define(
        env,
        "dup-delay",
        [
            in_app("before", "before"),
            step("wait", "delay", type="regular", amount=1, unit="seconds"),
            in_app("after", "after"),
        ],
    )
    first = await env.trigger("dup-delay", "dd", {}, transactionId="dup-d")
    assert first.status_code == 201
    run = await latest_run(env, "dup-d")
    again = await env.trigger("dup-delay", "dd", {}, transactionId="dup-d")  # while the timer runs
    assert again.json()["data"]["status"] == "processed"
    assert await latest_run(env, "dup-d") == run
    await env.settle("dup-d")
    late = await env.trigger("dup-delay", "dd", {}, transactionId="dup-d")  # after it completed
    assert late.status_code == 201 and late.json()["data"]["status"] == "processed"
    await assert_one_run(env, "dup-d", run)
    await env.settle("dup-d")
    assert await in_app_contents(env, "dd") == ["before", "after"]
    steps = [d.detail for d in await details(env, "dup-d") if d.detail == "Step delayed"]
    assert len(steps) == 1  # one delay, not one per run


async def test_duplicate_transaction_never_starts_a_second_run_of_a_digest(env: Env) -> None:
    """The execution path (two recipients: the front door takes one; tests/integration/test_digest_front.py
    covers its duplicates)."""
    await define(env, "dup-digest", [digest(amount=1), in_app("after", "{{ step.total_count }}")])
    assert (await env.trigger("dup-digest", ["dg", "dg2"], {}, transactionId="dup-g")).status_code == 201
    run = await latest_run(env, "dup-g")
    assert (await env.trigger("dup-digest", ["dg", "dg2"], {}, transactionId="dup-g")).status_code == 201
    assert await latest_run(env, "dup-g") == run
    await env.settle("dup-g")
    assert (await env.trigger("dup-digest", ["dg", "dg2"], {}, transactionId="dup-g")).status_code == 201
    await assert_one_run(env, "dup-g", run)

    async def sent() -> list[str] | None:
        return await in_app_contents(env, "dg") or None

    assert await eventually(sent) == ["1"]
    joined = [d.detail for d in await details(env, "dup-g") if d.detail == "Step digested"]
    assert joined == ["Step digested"] * 2  # once per recipient


async def test_tenant_override_turns_email_off_end_to_end(env: Env, stack: Stack) -> None:
    """A tenant's workflow override (``preferenceSettings.email = false``) blocks email for that
    tenant's triggers only; in-app still arrives, and other tenants still get email."""
    for identifier in ("acme", "globex"):
        resp = await env.http.post("/v1/tenants", json={"identifier": identifier, "name": identifier})
        assert resp.status_code == 201, resp.text
    body = {
        "name": "Tenant prefs",
        "notificationGroup": {"name": "General"},
        "active": True,
        "steps": [
            {"template": {"type": "in_app", "content": "hello {{tenant.identifier}}"}},
            {"template": {"type": "email", "subject": "Hi", "content": "mail for {{tenant.identifier}}"}},
        ],
    }
    resp = await env.http.post("/v1/workflows", json=body)
    assert resp.status_code == 201, resp.text
    wf = resp.json()["data"]
    name = wf["triggers"][0]["identifier"]
    resp = await env.http.post(
        "/v1/workflow-overrides",
        json={"workflowId": wf["_id"], "tenantId": "acme", "preferenceSettings": {"email": False}},
    )
    assert resp.status_code == 201, resp.text
    acme_mail, globex_mail = "ov-acme@example.com", "ov-globex@example.com"
    await env.trigger(name, {"subscriberId": "oa", "email": acme_mail}, tenant="acme", transactionId="ov-a")
    await env.trigger(
        name, {"subscriberId": "og", "email": globex_mail}, tenant="globex", transactionId="ov-g"
    )
    await env.settle("ov-a")
    await env.settle("ov-g")
    assert await in_app_contents(env, "oa") == ["hello acme"]
    assert await in_app_contents(env, "og") == ["hello globex"]
    await stack.mailbox.wait_for(1, globex_mail)
    assert stack.mailbox.to(acme_mail) == []  # the workflow completed: nothing more can arrive
    rows = await details(env, "ov-a")
    assert "Step filtered by subscriber workflow preferences" in [r.detail for r in rows]
    emails = await env.sql(
        "select count(*) from messages where environment_id = :e and channel = 'email'", e=env.id
    )
    assert emails[0][0] == 1


async def test_concurrent_first_backoff_events_send_one_at_once(env: Env) -> None:
    """Several events reach a quiet backoff digest at the same moment: exactly one is the "first"
    (sent at once), the others are digested. The advisory lock serializes the look-back.

    To make "at the same moment" certain rather than likely, the test holds a lock on
    ``execution_details`` (written at the end of each join's transaction) until every join is
    waiting: on the advisory lock (correct code: one join holds it), or, without the advisory lock,
    all of them with their decision already taken inside their open transactions."""
    await define(
        env,
        "backoff-race",
        [
            digest(type="backoff", backoff=True, amount=1, backoffAmount=60, backoffUnit="seconds"),
            in_app(
                "after", "{% if step.digest %}digest of {{ step.total_count }}{% else %}single{% endif %}"
            ),
        ],
    )
    resp = await env.http.post("/v1/subscribers", json={"subscriberId": "race"})
    assert resp.status_code == 201
    count = 6
    dsn = env.stack.settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
    gate = await asyncpg.connect(dsn)
    try:
        held = gate.transaction()
        await held.start()
        await gate.execute("LOCK TABLE execution_details IN EXCLUSIVE MODE")
        responses = await asyncio.gather(
            *(env.trigger("backoff-race", "race", {}, transactionId=f"br-{i}") for i in range(count))
        )
        assert all(r.status_code == 201 for r in responses)

        async def all_joins_waiting() -> bool:
            waiting = await gate.fetchval(
                """select count(*) from pg_stat_activity a
                   where a.datname = current_database() and a.wait_event_type = 'Lock'
                     and (exists (select 1 from pg_locks l join pg_class c on c.oid = l.relation
                                  where l.pid = a.pid and l.granted and c.relname = 'digest_events')
                          or exists (select 1 from pg_locks l
                                     where l.pid = a.pid and not l.granted and l.locktype = 'advisory'))"""
            )
            return int(waiting) >= count

        await eventually(all_joins_waiting, timeout=60)
        await held.rollback()
    finally:
        await gate.close()
    await asyncio.gather(*(env.settle(f"br-{i}") for i in range(count)))
    await settle_digests(env)  # every window closed and sent: the counts below are final
    statuses = await env.sql(
        "select status, count(*) from digest_events where environment_id = :e group by status order by status",
        e=env.id,
    )
    # every event is either the one skipped (sent at once) or fired in a digest; none left pending
    assert {s: n for s, n in statuses} == {"fired": count - 1, "skipped": 1}
    found = await in_app_contents(env, "race")
    assert found.count("single") == 1, found
    digested = [int(f.removeprefix("digest of ")) for f in found if f != "single"]
    assert sum(digested) == count - 1, found  # (one window, unless the machine was slow to join)


async def test_window_never_sends_an_event_that_is_no_longer_pending(env: Env) -> None:
    """A late duplicate signal names an event an earlier window already sent: the next window claims
    only pending events, so that event is not sent a second time."""
    workflow_row = await define(
        env,
        "digest-once",
        [digest(amount=1), in_app("after", "{% for e in step.events %}{{ e.n }}{% endfor %}")],
    )
    assert (await env.trigger("digest-once", "once", {"n": "a"}, transactionId="once-a")).status_code == 201

    async def first() -> list[str] | None:
        return await in_app_contents(env, "once") or None

    assert await eventually(first) == ["a"]
    internal = (await env.sql("select id from subscribers where environment_id = :e", e=env.id))[0][0]
    accumulator = digest_accumulator(env.id, workflow_row, "once")
    handle = env.stack.client.get_workflow_handle(accumulator)
    await handle.result()  # the first window is closed
    # The duplicate signal opens a new window, which then receives a genuine event.
    await env.stack.client.start_workflow(
        DIGEST_ACCUMULATOR_WORKFLOW,
        AccumulatorInput(environment_id=env.id, subscriber_id=internal, step_id="digest"),
        id=accumulator,
        task_queue=env.stack.settings.task_queue,
        start_signal="add",
        start_signal_args=[
            DigestSignal(transaction_id="once-a", window_end=datetime.now(UTC) + timedelta(seconds=2))
        ],
    )
    assert (await env.trigger("digest-once", "once", {"n": "b"}, transactionId="once-b")).status_code == 201
    await env.settle("once-b")
    await env.stack.client.get_workflow_handle(accumulator).result()  # the second window is closed

    async def second() -> list[str] | None:
        found = await in_app_contents(env, "once")
        return found if len(found) >= 2 else None

    await eventually(second)
    fired_runs = await env.sql(
        "select transaction_id, fired_by from digest_events where environment_id = :e order by transaction_id",
        e=env.id,
    )
    assert len({run for _, run in fired_runs}) == 2
    assert await in_app_contents(env, "once") == ["a", "b"]


# -- integration selection through the worker ------------------------------------------------------


async def sms_workflow(env: Env) -> None:
    await add_workflow(env, "otp-fo", [{"type": "sms", "content": "Code {{code}}"}])


async def test_sms_failover_follows_priority(env: Env, stack: Stack, fake: FakeHttpProviders) -> None:
    """The primary SMS integration answers 503: the next one by priority (highest first) sends, the
    lower one is never called; one message, settled on the integration that sent it."""
    twilio = await add_integration(
        env, "twilio", "sms", {"accountSid": "ACp", "token": "t", "from": "+1555", "baseUrl": fake.url}
    )
    low = await add_integration(
        env, "plivo", "sms", {"accountSid": "PL", "token": "t", "from": "+1556", "baseUrl": fake.url}
    )
    high = await add_integration(
        env, "nexmo", "sms", {"apiKey": "k", "secretKey": "s", "from": "+1557", "baseUrl": fake.url}
    )
    assert twilio["primary"] and not low["primary"] and not high["primary"]
    fake.fail("/Messages.json", 503, {"message": "down"})
    await sms_workflow(env)
    await env.trigger("otp-fo", {"subscriberId": "s1", "phone": "+1999"}, {"code": "7"}, transactionId="sf-1")
    await env.settle("sf-1")
    assert len(fake.to("/Messages.json")) == stack.settings.provider_attempts
    assert len(fake.to("/sms/json")) == 1  # the higher priority backup
    assert fake.to("/Message/") == []  # the lower one is not reached
    rows = await details(env, "sf-1")
    selected = [r.raw["identifier"] for r in rows if r.detail == "Integration instance selected"]
    assert selected == [twilio["identifier"], high["identifier"]]
    (msg,) = await env.sql(
        "select status, integration_id from messages where transaction_id = 'sf-1' and channel = 'sms'"
    )
    assert msg.status == "sent" and msg.integration_id == high["_id"]


async def test_tenant_conditions_pick_the_integration(
    env: Env, stack: Stack, fake: FakeHttpProviders
) -> None:
    """An integration whose conditions match the trigger's tenant goes first; other tenants and
    triggers without a tenant use the primary."""
    for identifier in ("acme", "globex"):
        await env.http.post("/v1/tenants", json={"identifier": identifier, "name": identifier})
    await add_integration(
        env, "twilio", "sms", {"accountSid": "ACprimary", "token": "t", "from": "+1555", "baseUrl": fake.url}
    )
    acme_only = [
        {
            "value": "AND",
            "children": [{"on": "tenant", "field": "identifier", "operator": "EQUAL", "value": "acme"}],
        }
    ]
    await add_integration(
        env,
        "twilio",
        "sms",
        {"accountSid": "ACacme", "token": "t", "from": "+1666", "baseUrl": fake.url},
        conditions=acme_only,
    )
    await sms_workflow(env)
    to = {"subscriberId": "t1", "phone": "+1999"}
    await env.trigger("otp-fo", to, {"code": "1"}, transactionId="tc-acme", tenant="acme")
    await env.trigger("otp-fo", to, {"code": "2"}, transactionId="tc-globex", tenant="globex")
    await env.trigger("otp-fo", to, {"code": "3"}, transactionId="tc-none")
    for tx in ("tc-acme", "tc-globex", "tc-none"):
        await env.settle(tx)
    assert [r.form["Body"] for r in fake.to("/Accounts/ACacme/")] == [["Code 1"]]
    assert sorted(r.form["Body"][0] for r in fake.to("/Accounts/ACprimary/")) == ["Code 2", "Code 3"]


async def test_email_failover_order_skips_lower_priority(
    env: Env, stack: Stack, fake: FakeHttpProviders
) -> None:
    """Email: the bootstrap SMTP primary is down; of two HTTP backups the one added last (higher
    priority) sends."""
    listed = (await env.http.get("/v1/integrations")).json()["data"]
    smtp = next(i for i in listed if i["providerId"] == "nodemailer")
    await env.http.put(
        f"/v1/integrations/{smtp['_id']}",
        json={"credentials": {"host": "127.0.0.1", "port": free_port(), "from": "down@acme.io"}},
    )
    await add_integration(
        env, "postmark", "email", {"apiKey": "pm", "baseUrl": fake.url, "from": "a@acme.io"}
    )
    await add_integration(
        env, "sendgrid", "email", {"apiKey": "SG.x", "baseUrl": fake.url, "from": "a@acme.io"}
    )
    to: dict[str, Any] = {"subscriberId": "ef", "email": "ef@example.com"}
    await env.trigger("welcome", to, {"name": "Ef"}, transactionId="ef-1")
    await env.settle("ef-1")
    assert len(fake.to("/v3/mail/send")) == 1
    assert fake.to("/email") == []
    assert stack.mailbox.to("ef@example.com") == []


# -- preferences on the provider channels -----------------------------------------------------------


async def test_sms_chat_push_preferences_end_to_end(env: Env, fake: FakeHttpProviders) -> None:
    """A subscriber's workflow preference (per channel) and global preference stop SMS, chat and push
    at the provider: nothing reaches the fake, while in-app and the other subscribers still get theirs."""
    await add_integration(
        env, "twilio", "sms", {"accountSid": "ACpref", "token": "t", "from": "+1555", "baseUrl": fake.url}
    )
    await add_integration(env, "slack", "chat", {})
    await add_integration(env, "expo", "push", {"baseUrl": fake.url})
    body = {
        "name": "Channels",
        "notificationGroup": {"name": "General"},
        "active": True,
        "steps": [
            {"template": {"type": "in_app", "content": "in-app {{subscriber.subscriberId}}"}},
            {"template": {"type": "sms", "content": "sms {{subscriber.subscriberId}}"}},
            {"template": {"type": "chat", "content": "chat {{subscriber.subscriberId}}"}},
            {"template": {"type": "push", "title": "t", "content": "push {{subscriber.subscriberId}}"}},
        ],
    }
    resp = await env.http.post("/v1/workflows", json=body)
    assert resp.status_code == 201, resp.text
    wf = resp.json()["data"]
    names = ("all-on", "wf-off", "global-off")
    for sid in names:
        await set_channels(
            env,
            sid,
            [
                {"providerId": "slack", "credentials": {"webhookUrl": f"{fake.url}/slack/{sid}"}},
                {"providerId": "expo", "credentials": {"deviceTokens": [f"ExponentPushToken[{sid}]"]}},
            ],
            phone=f"+1{names.index(sid)}00",
        )
    for channel in ("sms", "chat", "push"):
        resp = await env.http.patch(
            f"/v1/subscribers/wf-off/preferences/{wf['_id']}",
            json={"channel": {"type": channel, "enabled": False}},
        )
        assert resp.status_code == 200, resp.text
    resp = await env.http.patch(
        "/v1/subscribers/global-off/preferences",
        json={"preferences": [{"type": c, "enabled": False} for c in ("sms", "chat", "push")]},
    )
    assert resp.status_code == 200, resp.text
    await env.trigger(wf["triggers"][0]["identifier"], list(names), {}, transactionId="pref-chan")
    await env.settle("pref-chan")
    assert [r.form["Body"] for r in fake.to("/Messages.json")] == [["sms all-on"]]
    assert [r.path for r in fake.to("/slack/")] == ["/slack/all-on"]
    assert [m["body"] for r in fake.to("/push/send") for m in r.json] == ["push all-on"]
    for sid in names:
        assert await in_app_contents(env, sid) == [f"in-app {sid}"]
    rows = await details(env, "pref-chan")
    filtered = {(r.subscriber_id, r.detail) for r in rows if r.detail.startswith("Step filtered by")}
    ids = dict(await env.sql("select subscriber_id, id from subscribers where environment_id = :e", e=env.id))
    assert filtered == {
        (ids["wf-off"], "Step filtered by subscriber workflow preferences"),
        (ids["global-off"], "Step filtered by subscriber global preferences"),
    }
    per_channel = await env.sql(
        "select channel, count(*) from execution_details where environment_id = :e and detail like 'Step filtered by%' "
        "group by channel order by channel",
        e=env.id,
    )
    assert [tuple(r) for r in per_channel] == [("chat", 2), ("push", 2), ("sms", 2)]
