"""Fan-out to topics in cohorts: exactly one message per subscriber, progress, cancel, continue-as-new.

Audiences are seeded with bulk SQL (PostgreSQL) and the notification workflow has a single in-app step,
so thousands of subscribers cost seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.service import RPCError

from api.triggering import snapshot
from store.models import WorkflowDefinition
from tests.support import Env, Stack, eventually
from workflows.models import (
    FANOUT_WORKFLOW,
    Audience,
    DeliveryContext,
    FanoutInput,
    RunInput,
    execution_id,
)
from workflows.notification import COHORT_SIZE

IN_APP = "fan-inbox"


async def in_app_workflow(stack: Stack, env: Env, identifier: str = IN_APP) -> WorkflowDefinition:
    """A REST-style definition with one in-app step (no emails for thousands of subscribers)."""
    row = WorkflowDefinition(
        environment_id=env.id,
        name="Fan-out inbox",
        trigger_identifier=identifier,
        steps=[
            {
                "uuid": "inbox",
                "active": True,
                "template": {"type": "in_app", "content": "Hello {{subscriber.subscriberId}}"},
            }
        ],
        triggers=[{"identifier": identifier, "type": "event", "variables": []}],
    )
    async with stack.db.session() as session:
        session.add(row)
    return row


async def seed_topic(env: Env, key: str, count: int, prefix: str = "fan") -> str:
    """``count`` subscribers ``<prefix>-<n>``, all members of topic ``key`` (created through the API)."""
    resp = await env.http.post("/v1/topics", json={"key": key, "name": key})
    assert resp.status_code == 201, resp.text
    topic_id = resp.json()["data"]["_id"]
    await env.sql(
        "insert into subscribers (id, environment_id, subscriber_id, channels, deleted, created_at, updated_at) "
        "select substr(md5(cast(:env as text) || cast(:prefix as text) || g), 1, 24), cast(:env as text), "
        "cast(:prefix as text) || '-' || g, '[]', false, now(), now() "
        "from generate_series(1, :n) g returning 1",
        env=env.id,
        prefix=prefix,
        n=count,
    )
    await env.sql(
        "insert into topic_subscribers "
        "(id, environment_id, topic_id, topic_key, subscriber_id, external_subscriber_id, created_at) "
        "select substr(md5(cast(:topic as text) || s.id), 1, 24), s.environment_id, cast(:topic as text), "
        "cast(:key as text), s.id, s.subscriber_id, now() from subscribers s "
        "where s.environment_id = cast(:env as text) and s.subscriber_id like :pattern returning 1",
        env=env.id,
        topic=topic_id,
        key=key,
        pattern=f"{prefix}-%",
    )
    return str(topic_id)


async def message_stats(env: Env, tx: str) -> tuple[int, int]:
    """(messages, distinct subscribers) of a transaction."""
    rows = await env.sql(
        "select count(*), count(distinct subscriber_id) from messages "
        "where environment_id = :env and transaction_id = :tx",
        env=env.id,
        tx=tx,
    )
    return int(rows[0][0]), int(rows[0][1])


async def details(env: Env, tx: str) -> list[dict[str, Any]]:
    resp = await env.http.get("/v1/execution-details", params={"transactionId": tx})
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]  # type: ignore[no-any-return]


async def test_small_topic_stays_in_one_execution(env: Env, stack: Stack) -> None:
    await in_app_workflow(stack, env)
    await seed_topic(env, "few", 3)
    tx = f"small-{secrets.token_hex(4)}"
    resp = await env.trigger(IN_APP, [{"type": "Topic", "topicKey": "few"}], transactionId=tx)
    assert resp.status_code == 201, resp.text
    result = await env.settle(tx)
    assert result["subscribers"] == 3
    assert await message_stats(env, tx) == (3, 3)
    child = stack.client.get_workflow_handle(f"{execution_id(env.id, tx)}:cohort:0")
    with pytest.raises(RPCError):
        await child.describe()  # no cohort children for an audience that fits one cohort


async def test_topic_fanout_in_cohorts(env: Env, stack: Stack) -> None:
    await in_app_workflow(stack, env)
    members = COHORT_SIZE * 2 + 200
    await seed_topic(env, "many", members)
    tx = f"fan-{secrets.token_hex(4)}"
    to = [{"type": "Topic", "topicKey": "many"}, "fan-1", {"subscriberId": "outsider"}]
    resp = await env.trigger(IN_APP, to, actor="fan-2", transactionId=tx)
    assert resp.status_code == 201, resp.text
    result = await env.settle(tx, timeout=120)

    # Everyone once: the topic minus the actor, plus the outsider; fan-1 listed twice counts once.
    expected = members - 1 + 1
    assert result["subscribers"] == expected
    assert await message_stats(env, tx) == (expected, expected)
    actor_msgs = await env.sql(
        "select count(*) from messages m join subscribers s on s.id = m.subscriber_id "
        "where m.transaction_id = :tx and s.subscriber_id = 'fan-2'",
        tx=tx,
    )
    assert actor_msgs[0][0] == 0

    progress = await env.http.get(f"/v1/events/trigger/{tx}/progress")
    assert progress.status_code == 200, progress.text
    view = progress.json()["data"]
    assert view["total"] == expected and view["done"] == expected and view["status"] == "completed"
    assert view["cohorts"]["done"] == view["cohorts"]["started"] >= 3
    assert view["messages"] == expected and view["notifications"] == expected

    texts = [d["detail"] for d in await details(env, tx)]
    assert texts.count("Fan-out started") == 1 and texts.count("Fan-out finished") == 1
    assert texts.count("Cohort processed") == view["cohorts"]["done"]
    started = next(d for d in await details(env, tx) if d["detail"] == "Fan-out started")
    assert '"subscribers":' in started["raw"] and str(expected) in started["raw"]

    missing = await env.http.get("/v1/events/trigger/nope/progress")
    assert missing.status_code == 404


async def test_broadcast_fans_out(env: Env, stack: Stack) -> None:
    await in_app_workflow(stack, env)
    await seed_topic(env, "everyone", COHORT_SIZE + 50, prefix="bc")
    resp = await env.http.post(
        "/v1/events/trigger/broadcast", json={"name": IN_APP, "payload": {}, "transactionId": "bc-fan"}
    )
    assert resp.status_code == 201, resp.text
    result = await env.settle("bc-fan", timeout=120)
    assert result["subscribers"] == COHORT_SIZE + 50
    assert await message_stats(env, "bc-fan") == (COHORT_SIZE + 50, COHORT_SIZE + 50)


async def test_continue_as_new_keeps_exactly_once(env: Env, stack: Stack) -> None:
    """Tiny cohorts and runs force several continue-as-new hand-overs; totals still add up."""
    row = await in_app_workflow(stack, env)
    topic_id = await seed_topic(env, "can", 230)
    tx = f"can-{secrets.token_hex(4)}"
    context = DeliveryContext(
        environment_id=env.id,
        organization_id="org",
        transaction_id=tx,
        workflow=snapshot(row),
    )
    state = FanoutInput(
        run=RunInput(context=context),
        audience=Audience(topic_ids=[topic_id]),
        cohort_size=20,
        cohorts_per_run=3,
    )
    handle = await stack.client.start_workflow(
        FANOUT_WORKFLOW, state, id=execution_id(env.id, tx), task_queue=stack.settings.task_queue
    )
    result = await asyncio.wait_for(handle.result(), 120)
    assert result["subscribers"] == 230
    assert await message_stats(env, tx) == (230, 230)
    runs = await env.sql(
        "select count(*) from execution_details where transaction_id = :tx and detail = 'Cohort processed'",
        tx=tx,
    )
    assert runs[0][0] == 12  # ceil(230 / 20) cohorts, over four runs of at most three


async def test_cancel_stops_the_fanout(env: Env, stack: Stack) -> None:
    await in_app_workflow(stack, env)
    total = 10_000
    await seed_topic(env, "cancel-me", total)
    tx = f"cancel-{secrets.token_hex(4)}"
    resp = await env.trigger(IN_APP, [{"type": "Topic", "topicKey": "cancel-me"}], transactionId=tx)
    assert resp.status_code == 201

    async def some_delivered() -> int:
        return (await message_stats(env, tx))[0]

    await eventually(some_delivered, timeout=60, interval=0.02)
    handle = stack.client.get_workflow_handle(execution_id(env.id, tx))
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(handle.result(), 60)
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED

    async def settled() -> int | None:
        before = await some_delivered()
        await asyncio.sleep(1.0)
        return before if before == await some_delivered() else None

    stopped_at = await eventually(settled, timeout=30)
    assert 0 < stopped_at < total
    await asyncio.sleep(2.0)
    assert await some_delivered() == stopped_at  # nothing arrives after the fan-out stopped
    texts = [d["detail"] for d in await details(env, tx)]
    assert "Fan-out cancelled" in texts and "Fan-out finished" not in texts
