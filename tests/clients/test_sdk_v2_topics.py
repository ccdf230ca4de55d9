"""``/v2/topics`` and ``/v2/subscribers/{id}/subscriptions`` through the real novu-py 3.19 over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from novu_py import models

from tests.clients.test_sdk_v2_subscribers import call, invalid, novu_v2
from tests.support import Stack


async def make_subscribers(novu: Any, *ids: str) -> None:
    for sid in ids:
        await call(
            novu.subscribers.create,
            create_subscriber_request_dto={
                "subscriber_id": sid,
                "first_name": sid.title(),
                "email": f"{sid}@x.io",
            },
        )


async def test_topic_crud_and_list(stack: Stack, live_api: str) -> None:
    env = await stack.new_env()
    novu = novu_v2(live_api, env.key)
    made = await call(
        novu.topics.create, create_update_topic_request_dto={"key": "task:42", "name": "Task 42"}
    )
    assert made.result.key == "task:42" and made.result.name == "Task 42"
    # Novu's status codes: 201 when created, 200 when an existing topic is updated.
    assert (await env.http.post("/v2/topics", json={"key": "fresh", "name": "F"})).status_code == 201
    assert (await env.http.post("/v2/topics", json={"key": "fresh", "name": "G"})).status_code == 200
    again = await call(
        novu.topics.create, create_update_topic_request_dto={"key": "task:42", "name": "Renamed"}
    )
    assert again.result.id == made.result.id and again.result.name == "Renamed"
    # The v1 routes see the same topic.
    assert (await env.http.get("/v1/topics/task:42")).json()["data"]["name"] == "Renamed"

    with pytest.raises(models.TopicResponseDtoError) as conflict:
        await call(
            novu.topics.create,
            create_update_topic_request_dto={"key": "task:42", "name": "X"},
            fail_if_exists=True,
        )
    assert conflict.value.raw_response.status_code == 409 and conflict.value.data.key == "task:42"
    assert (await call(novu.topics.get, topic_key="task:42")).result.name == "Renamed"

    with pytest.raises(models.ErrorDto) as bad:
        await call(novu.topics.create, create_update_topic_request_dto={"key": "has space", "name": "N"})
    assert bad.value.raw_response.status_code == 400 and "Invalid topic key" in str(bad.value.data.message)
    ok_email = await call(novu.topics.create, create_update_topic_request_dto={"key": "ops@example.com"})
    assert ok_email.result.key == "ops@example.com"

    await call(novu.topics.delete, topic_key="fresh")
    for i in range(4):
        await call(
            novu.topics.create, create_update_topic_request_dto={"key": f"news-{i}", "name": f"News {i}"}
        )
    first = (await call(novu.topics.list, request={"limit": 2, "key": "news"})).result
    assert [t.key for t in first.data] == ["news-3", "news-2"] and first.total_count == 4
    second = (await call(novu.topics.list, request={"limit": 2, "key": "news", "after": first.next})).result
    assert [t.key for t in second.data] == ["news-1", "news-0"] and second.next is None
    by_name = (await call(novu.topics.list, request={"name": "Renamed"})).result
    assert [t.key for t in by_name.data] == ["task:42"]

    updated = await call(
        novu.topics.update, topic_key="news-0", update_topic_request_dto={"name": "Old news"}
    )
    assert updated.result.name == "Old news"
    gone = await call(novu.topics.delete, topic_key="news-0")
    assert gone.result.acknowledged is True
    with pytest.raises(models.ErrorDto) as missing:
        await call(novu.topics.get, topic_key="news-0")
    assert missing.value.raw_response.status_code == 404
    assert missing.value.data.message == "Topic with key news-0 not found"


async def test_subscriptions(stack: Stack, live_api: str) -> None:
    env = await stack.new_env()
    novu = novu_v2(live_api, env.key)
    await make_subscribers(novu, "ann", "bob", "cat")

    # The topic does not exist yet: subscribing creates it.
    made = await call(
        novu.topics.subscriptions.create,
        topic_key="release",
        create_topic_subscriptions_request_dto={
            "subscriptions": ["ann", {"identifier": "bob-mobile", "subscriber_id": "bob"}, "ghost"],
            "preferences": [{"workflow_id": "welcome", "enabled": False}],
        },
    )
    result = made.result
    assert result.meta.successful == 2 and result.meta.failed == 1 and result.meta.total_count == 3
    assert [e.code for e in result.errors or []] == ["SUBSCRIBER_NOT_FOUND"]
    idents = {s.subscriber.subscriber_id: s.identifier for s in result.data if s.subscriber}
    assert idents == {"ann": "tk_release:si_ann", "bob": "bob-mobile"}
    # A v1 member too: the fan-out and /v1/topics see the same rows.
    v1 = (await env.http.get("/v1/topics/release")).json()["data"]
    assert sorted(v1["subscribers"]) == ["ann", "bob"]

    # Idempotent: subscribing again returns the existing subscription.
    again = await call(
        novu.topics.subscriptions.create,
        topic_key="release",
        create_topic_subscriptions_request_dto={"subscriber_ids": ["ann"]},
    )
    assert again.result.data[0].id == next(s.id for s in result.data if s.identifier == "tk_release:si_ann")

    listed = (await call(novu.topics.subscriptions.list, request={"topic_key": "release", "limit": 1})).result
    assert len(listed.data) == 1 and listed.next is not None and listed.total_count == 2
    rest = (
        await call(novu.topics.subscriptions.list, request={"topic_key": "release", "after": listed.next})
    ).result
    assert {listed.data[0].subscriber.subscriber_id, rest.data[0].subscriber.subscriber_id} == {"ann", "bob"}
    only_bob = (
        await call(novu.topics.subscriptions.list, request={"topic_key": "release", "subscriber_id": "bob"})
    ).result
    assert [s.identifier for s in only_bob.data] == ["bob-mobile"]

    detail = (
        await call(novu.topics.subscriptions.get_subscription, topic_key="release", identifier="bob-mobile")
    ).result
    assert detail.identifier == "bob-mobile"
    assert [(p.enabled, p.workflow.identifier if p.workflow else None) for p in detail.preferences or []] == [
        (False, "welcome")
    ]
    renamed = (
        await call(
            novu.topics.subscriptions.update,
            topic_key="release",
            identifier="bob-mobile",
            update_topic_subscription_request_dto={"name": "Bob's phone", "preferences": ["welcome"]},
        )
    ).result
    assert renamed.name == "Bob's phone" and renamed.preferences and renamed.preferences[0].enabled is True

    # A subscriber's own subscriptions.
    await call(novu.topics.create, create_update_topic_request_dto={"key": "other", "name": "Other"})
    await call(
        novu.topics.subscriptions.create,
        topic_key="other",
        create_topic_subscriptions_request_dto={"subscriber_ids": ["bob"]},
    )
    mine = (await call(novu.subscribers.topics.list, request={"subscriber_id": "bob"})).result
    assert sorted(s.topic.key for s in mine.data) == ["other", "release"]
    one = (await call(novu.subscribers.topics.list, request={"subscriber_id": "bob", "key": "other"})).result
    assert [s.topic.key for s in one.data] == ["other"]

    removed = (
        await call(
            novu.topics.subscriptions.delete,
            topic_key="release",
            delete_topic_subscriptions_request_dto={"subscriptions": [{"identifier": "bob-mobile"}, "cat"]},
        )
    ).result
    assert [s.identifier for s in removed.data] == ["bob-mobile"]
    assert [e.code for e in removed.errors or []] == ["SUBSCRIPTION_NOT_FOUND"]
    assert (await env.http.get("/v1/topics/release")).json()["data"]["subscribers"] == ["ann"]


async def test_subscription_bad_input(stack: Stack, live_api: str) -> None:
    env = await stack.new_env()
    novu = novu_v2(live_api, env.key)
    await make_subscribers(novu, "dan")
    with pytest.raises(models.ValidationErrorDto) as over:
        await call(
            novu.topics.subscriptions.create,
            topic_key="big",
            create_topic_subscriptions_request_dto={"subscriber_ids": [f"s{i}" for i in range(101)]},
        )
    assert invalid(over.value) == ["Cannot subscribe more than 100 subscribers at once"]
    # Nothing was written: the topic was not even created.
    assert (await env.http.get("/v1/topics/big")).status_code == 404

    with pytest.raises(models.ErrorDto) as all_failed:
        await call(
            novu.topics.subscriptions.create,
            topic_key="big",
            create_topic_subscriptions_request_dto={"subscriber_ids": ["nobody"]},
        )
    body = all_failed.value.raw_response.json()
    assert body["statusCode"] == 400 and body["meta"] == {"totalCount": 1, "successful": 0, "failed": 1}
    with pytest.raises(models.ErrorDto) as no_topic:
        await call(novu.topics.subscriptions.list, request={"topic_key": "missing"})
    assert no_topic.value.data.message == "Topic with key missing not found"
    with pytest.raises(models.ErrorDto) as no_sub:
        await call(novu.subscribers.topics.list, request={"subscriber_id": "ghost"})
    assert no_sub.value.raw_response.status_code == 404


async def test_topics_environment_isolation(stack: Stack, live_api: str) -> None:
    owner, other = await stack.new_env(), await stack.new_env()
    mine, theirs = novu_v2(live_api, owner.key), novu_v2(live_api, other.key)
    await make_subscribers(mine, "eve")
    await call(
        mine.topics.subscriptions.create,
        topic_key="secret",
        create_topic_subscriptions_request_dto={"subscriber_ids": ["eve"]},
    )
    assert (await call(theirs.topics.list, request={})).result.data == []
    for op, kwargs in (
        (theirs.topics.get, {"topic_key": "secret"}),
        (theirs.topics.update, {"topic_key": "secret", "update_topic_request_dto": {"name": "pwned"}}),
        (theirs.topics.delete, {"topic_key": "secret"}),
        (
            theirs.topics.subscriptions.delete,
            {"topic_key": "secret", "delete_topic_subscriptions_request_dto": {"subscriber_ids": ["eve"]}},
        ),
        (
            theirs.topics.subscriptions.update,
            {
                "topic_key": "secret",
                "identifier": "tk_secret:si_eve",
                "update_topic_subscription_request_dto": {"name": "x"},
            },
        ),
    ):
        with pytest.raises(models.ErrorDto) as err:
            await call(op, **kwargs)
        assert err.value.raw_response.status_code == 404
    with pytest.raises(models.ErrorDto):
        await call(theirs.topics.subscriptions.list, request={"topic_key": "secret"})
    with pytest.raises(models.ErrorDto):
        await call(theirs.subscribers.topics.list, request={"subscriber_id": "eve"})
    # Their subscribe to "secret" makes their own topic and cannot reach our subscriber.
    with pytest.raises(models.ErrorDto):
        await call(
            theirs.topics.subscriptions.create,
            topic_key="secret",
            create_topic_subscriptions_request_dto={"subscriber_ids": ["eve"]},
        )
    assert (await owner.http.get("/v1/topics/secret")).json()["data"]["subscribers"] == ["eve"]
    assert (await call(mine.topics.get, topic_key="secret")).result.name == "secret"


async def test_v2_subscription_receives_topic_trigger(stack: Stack, live_api: str) -> None:
    env = await stack.new_env()
    novu = novu_v2(live_api, env.key)
    await make_subscribers(novu, "fay")
    await call(
        novu.topics.subscriptions.create,
        topic_key="launch",
        create_topic_subscriptions_request_dto={
            "subscriptions": [{"identifier": "fay-1", "subscriber_id": "fay"}]
        },
    )
    resp = await env.trigger(
        "welcome", [{"type": "Topic", "topicKey": "launch"}], {"name": "Fay"}, transactionId="v2-topic-tx"
    )
    assert resp.status_code == 201, resp.text
    await env.settle("v2-topic-tx")
    assert len((await env.feed("fay"))["data"]) == 1
