"""Recipients: subscriberIds, subscriber objects and topics in one ``to``; de-duplication; the actor;
an unknown topic recorded where the user looks."""

from __future__ import annotations

import uuid

from tests.support import Env, Stack


async def subscribe(env: Env, key: str, *ids: str) -> None:
    for sid in ids:
        assert (await env.http.post("/v1/subscribers", json={"subscriberId": sid})).status_code == 201
    resp = await env.http.post(f"/v1/topics/{key}/subscribers", json={"subscribers": list(ids)})
    assert resp.status_code == 200 and not resp.json()["data"].get("failed"), resp.text


async def in_app_counts(env: Env, tx: str) -> dict[str, int]:
    rows = await env.sql(
        "select s.subscriber_id, count(*) from messages m join subscribers s on s.id = m.subscriber_id "
        "where m.environment_id = :env and m.transaction_id = :tx and m.channel = 'in_app' "
        "group by s.subscriber_id",
        env=env.id,
        tx=tx,
    )
    return {sid: int(n) for sid, n in rows}


async def test_mixed_recipients_are_deduplicated(env: Env) -> None:
    await subscribe(env, "t1", "a", "b", "c")
    await subscribe(env, "t2", "c", "d")
    tx = f"mixed-{uuid.uuid4()}"
    resp = await env.trigger(
        "welcome",
        [
            "a",
            {"subscriberId": "e", "firstName": "Eve"},
            {"type": "Topic", "topicKey": "t1"},
            {"type": "Topic", "topicKey": "t2"},
            "e",
        ],
        {"name": "All"},
        transactionId=tx,
    )
    assert resp.status_code == 201 and resp.json()["data"]["status"] == "processed"
    result = await env.settle(tx)
    assert result["subscribers"] == 5
    assert await in_app_counts(env, tx) == {"a": 1, "b": 1, "c": 1, "d": 1, "e": 1}
    notifications = await env.sql(
        "select count(*) from notifications where environment_id = :env and transaction_id = :tx",
        env=env.id,
        tx=tx,
    )
    assert notifications[0][0] == 5


async def test_actor_excluded_from_topic_but_not_when_listed(env: Env) -> None:
    await subscribe(env, "crew", "actor", "mate")
    only_topic = f"actor-topic-{uuid.uuid4()}"
    resp = await env.trigger(
        "welcome",
        [{"type": "Topic", "topicKey": "crew"}],
        {"name": "x"},
        actor="actor",
        transactionId=only_topic,
    )
    assert resp.status_code == 201
    await env.settle(only_topic)
    assert await in_app_counts(env, only_topic) == {"mate": 1}

    listed = f"actor-listed-{uuid.uuid4()}"
    resp = await env.trigger(
        "welcome",
        ["actor", {"type": "Topic", "topicKey": "crew"}],
        {"name": "x"},
        actor={"subscriberId": "actor"},
        transactionId=listed,
    )
    await env.settle(listed)
    assert await in_app_counts(env, listed) == {"actor": 1, "mate": 1}


async def test_unknown_topic_is_recorded(env: Env) -> None:
    await subscribe(env, "known", "k1")
    tx = f"unknown-topic-{uuid.uuid4()}"
    resp = await env.trigger(
        "welcome",
        ["k1", {"type": "Topic", "topicKey": "known"}, {"type": "Topic", "topicKey": "nope"}],
        {"name": "x"},
        transactionId=tx,
    )
    assert resp.status_code == 201 and resp.json()["data"]["status"] == "processed"
    await env.settle(tx)
    # As in Novu the event is dropped: nobody gets it, and the reason is in the execution details.
    assert await in_app_counts(env, tx) == {}
    details = await env.http.get("/v1/execution-details", params={"transactionId": tx})
    assert details.status_code == 200, details.text
    failures = [d for d in details.json()["data"] if d["status"] == "Failed"]
    assert [d["detail"] for d in failures] == ["Topic with key nope not found in current environment"]
    assert failures[0]["transactionId"] == tx


async def test_topic_trigger_on_both_backends(any_stack: Stack) -> None:
    env = await any_stack.new_env()
    await subscribe(env, "both", "p", "q")
    tx = f"both-{uuid.uuid4()}"
    resp = await env.trigger(
        "welcome", [{"type": "Topic", "topicKey": "both"}], {"name": "x"}, transactionId=tx
    )
    assert resp.status_code == 201
    await env.settle(tx)
    assert await in_app_counts(env, tx) == {"p": 1, "q": 1}
