"""``/v1/subscribers``: CRUD, bulk, credentials and online status, with Novu's answers and messages."""

from __future__ import annotations

import asyncio
from typing import Any

from store.crypto import CredentialCipher
from store.models import Integration
from tests.support import Env, Stack


async def add_integration(
    stack: Stack,
    env: Env,
    provider_id: str,
    channel: str,
    *,
    identifier: str | None = None,
    **credentials: Any,
) -> str:
    """An integration row straight through the ORM (the integrations API is another module)."""
    rows = await env.sql("select organization_id from environments where id = :id", id=env.id)
    cipher = CredentialCipher(stack.settings.resolved_secret_key())
    row = Integration(
        organization_id=rows[0][0],
        environment_id=env.id,
        name=provider_id,
        identifier=identifier or f"{provider_id}-{env.id[-6:]}",
        provider_id=provider_id,
        channel=channel,
        credentials_encrypted=cipher.encrypt(credentials),
        active=True,
    )
    async with stack.db.session() as session:
        session.add(row)
    return row.id


async def test_create_is_an_upsert_and_get_returns_it(any_stack: Stack) -> None:
    env = await any_stack.new_env()
    body = {
        "subscriberId": "ada",
        "email": "ada@example.com",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "locale": "en-GB",
        "timezone": "Europe/London",
        "data": {"plan": "pro"},
    }
    first = await env.http.post("/v1/subscribers", json=body)
    assert first.status_code == 201, first.text
    created = first.json()["data"]
    assert created["subscriberId"] == "ada" and created["firstName"] == "Ada"
    assert created["timezone"] == "Europe/London" and created["data"] == {"plan": "pro"}

    again = await env.http.post(
        "/v1/subscribers", json={"subscriberId": "ada", "firstName": "Augusta", "lastName": None}
    )
    assert again.status_code == 201
    updated = again.json()["data"]
    assert updated["_id"] == created["_id"]
    assert updated["firstName"] == "Augusta" and updated["lastName"] == "Lovelace"

    got = (await env.http.get("/v1/subscribers/ada")).json()["data"]
    assert got["firstName"] == "Augusta" and got["email"] == "ada@example.com"


async def test_validation_messages(env: Env) -> None:
    bad = await env.http.post("/v1/subscribers", json={"subscriberId": "x", "email": "not-an-email"})
    assert bad.status_code == 400 and bad.json()["message"] == ["email must be an email"]
    tz = await env.http.post("/v1/subscribers", json={"subscriberId": "x", "timezone": "Mars/Base"})
    assert tz.status_code == 400
    assert tz.json()["message"] == ["timezone must be a valid IANA time zone name, such as Europe/Berlin"]
    missing = await env.http.post("/v1/subscribers", json={"firstName": "x"})
    assert missing.status_code == 400
    assert missing.json()["message"] == [
        "subscriberId should not be null or undefined",
        "subscriberId must be a string",
    ]


async def test_get_unknown_is_404(env: Env) -> None:
    resp = await env.http.get("/v1/subscribers/ghost")
    assert resp.status_code == 404
    assert resp.json()["message"] == "Subscriber not found for id ghost"
    assert resp.json()["error"] == "Not Found" and resp.json()["path"] == "/v1/subscribers/ghost"


async def test_list_pages_without_total_count(env: Env) -> None:
    for i in range(3):
        await env.http.post("/v1/subscribers", json={"subscriberId": f"s{i}"})
    first = (await env.http.get("/v1/subscribers", params={"page": "0.0", "limit": "2.0"})).json()
    assert set(first) == {"page", "hasMore", "pageSize", "data"}
    assert first["page"] == 0 and first["pageSize"] == 2 and first["hasMore"] is True
    assert [s["subscriberId"] for s in first["data"]] == ["s0", "s1"]
    second = (await env.http.get("/v1/subscribers", params={"page": 1, "limit": 2})).json()
    assert [s["subscriberId"] for s in second["data"]] == ["s2"] and second["hasMore"] is False
    too_big = await env.http.get("/v1/subscribers", params={"limit": 101})
    assert too_big.status_code == 400 and too_big.json()["message"] == ["limit must not be greater than 100"]


async def test_put_rules(env: Env) -> None:
    await env.http.post(
        "/v1/subscribers",
        json={"subscriberId": "bob", "email": "bob@example.com", "phone": "+100", "data": {"a": 1, "b": 2}},
    )
    resp = await env.http.put(
        "/v1/subscribers/bob", json={"email": "", "firstName": "Bob", "phone": None, "data": {"c": 3}}
    )
    assert resp.status_code == 200, resp.text
    sub = resp.json()["data"]
    assert "email" not in sub  # "" unsets it
    assert sub["phone"] == "+100"  # null leaves it
    assert sub["data"] == {"c": 3}  # replaced, not merged
    assert sub["firstName"] == "Bob"
    missing = await env.http.put("/v1/subscribers/nobody", json={"firstName": "x"})
    assert missing.status_code == 400 and missing.json()["message"] == "SubscriberId: nobody not found"


async def test_delete_is_soft_and_leaves_topics(any_stack: Stack) -> None:
    env, stack = await any_stack.new_env(), any_stack
    await env.http.post("/v1/subscribers", json={"subscriberId": "carl", "firstName": "Carl"})
    sub_id = (await env.sql("select id from subscribers where subscriber_id = 'carl'"))[0][0]
    async with stack.db.session() as session:
        from store.models import Topic, TopicSubscriber

        topic = Topic(environment_id=env.id, key="news", name="News")
        session.add(topic)
        await session.flush()
        session.add(
            TopicSubscriber(
                environment_id=env.id,
                topic_id=topic.id,
                topic_key="news",
                subscriber_id=sub_id,
                external_subscriber_id="carl",
            )
        )
    resp = await env.http.delete("/v1/subscribers/carl")
    assert resp.status_code == 200
    assert resp.json() == {"data": {"acknowledged": True, "status": "deleted"}}
    assert (await env.http.get("/v1/subscribers/carl")).status_code == 404
    assert (await env.http.delete("/v1/subscribers/carl")).status_code == 404
    assert bool((await env.sql("select deleted from subscribers where subscriber_id = 'carl'"))[0][0]) is True
    assert await env.sql("select * from topic_subscribers where subscriber_id = :id", id=sub_id) == []
    listed = (await env.http.get("/v1/subscribers")).json()["data"]
    assert [s["subscriberId"] for s in listed] == []

    again = await env.http.post("/v1/subscribers", json={"subscriberId": "carl"})
    assert again.status_code == 201 and "firstName" not in again.json()["data"]
    assert (await env.http.get("/v1/subscribers/carl")).status_code == 200


async def test_bulk_create(env: Env) -> None:
    await env.http.post("/v1/subscribers", json={"subscriberId": "old"})
    resp = await env.http.post(
        "/v1/subscribers/bulk",
        json={
            "subscribers": [{"subscriberId": "old", "firstName": "O"}, {"subscriberId": "new", "email": None}]
        },
    )
    assert resp.status_code == 201, resp.text
    assert resp.json() == {
        "data": {"created": [{"subscriberId": "new"}], "updated": [{"subscriberId": "old"}], "failed": []}
    }
    assert (await env.http.get("/v1/subscribers/old")).json()["data"]["firstName"] == "O"

    too_many = await env.http.post(
        "/v1/subscribers/bulk", json={"subscribers": [{"subscriberId": f"s{i}"} for i in range(501)]}
    )
    assert too_many.status_code == 400
    assert too_many.json()["message"] == ["subscribers must contain no more than 500 elements"]
    nested = await env.http.post(
        "/v1/subscribers/bulk", json={"subscribers": [{"subscriberId": "a", "email": "x"}]}
    )
    assert nested.status_code == 400 and nested.json()["message"] == ["subscribers.0.email must be an email"]


async def test_credentials_put_patch_delete(env: Env, stack: Stack) -> None:
    await env.http.post("/v1/subscribers", json={"subscriberId": "dana"})
    no_integration = await env.http.put(
        "/v1/subscribers/dana/credentials", json={"providerId": "fcm", "credentials": {"deviceTokens": ["a"]}}
    )
    assert no_integration.status_code == 400
    assert (
        no_integration.json()["message"]
        == f"Subscribers environment ({env.id}) do not have active fcm integration."
    )

    fcm_id = await add_integration(stack, env, "fcm", "push")
    await add_integration(stack, env, "slack", "chat")
    put = await env.http.put(
        "/v1/subscribers/dana/credentials",
        json={"providerId": "fcm", "credentials": {"deviceTokens": ["a", "b", "a"]}},
    )
    assert put.status_code == 200, put.text
    [channel] = put.json()["data"]["channels"]
    assert channel["providerId"] == "fcm" and channel["_integrationId"] == fcm_id
    assert channel["credentials"] == {"deviceTokens": ["a", "b"]}

    patch = await env.http.patch(
        "/v1/subscribers/dana/credentials", json={"providerId": "fcm", "credentials": {"deviceTokens": ["c"]}}
    )
    assert patch.json()["data"]["channels"][0]["credentials"]["deviceTokens"] == ["a", "b", "c"]
    replace = await env.http.put(
        "/v1/subscribers/dana/credentials", json={"providerId": "fcm", "credentials": {"deviceTokens": ["z"]}}
    )
    assert replace.json()["data"]["channels"][0]["credentials"]["deviceTokens"] == ["z"]

    slack = await env.http.put(
        "/v1/subscribers/dana/credentials",
        json={"providerId": "slack", "credentials": {"webhookUrl": "https://hooks.example/1"}},
    )
    assert {c["providerId"] for c in slack.json()["data"]["channels"]} == {"fcm", "slack"}

    gone = await env.http.delete("/v1/subscribers/dana/credentials/fcm")
    assert gone.status_code == 204 and gone.content == b""
    channels = (await env.http.get("/v1/subscribers/dana")).json()["data"]["channels"]
    assert [c["providerId"] for c in channels] == ["slack"]
    missing = await env.http.put(
        "/v1/subscribers/nobody/credentials", json={"providerId": "slack", "credentials": {"webhookUrl": "u"}}
    )
    assert missing.status_code == 400 and missing.json()["message"] == "SubscriberId: nobody not found"


async def test_create_with_channels_uses_the_credentials_logic(env: Env, stack: Stack) -> None:
    await add_integration(stack, env, "slack", "chat")
    resp = await env.http.post(
        "/v1/subscribers",
        json={
            "subscriberId": "erin",
            "channels": [{"providerId": "slack", "credentials": {"webhookUrl": "https://hooks.example/e"}}],
        },
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["data"]["channels"][0]["credentials"] == {"webhookUrl": "https://hooks.example/e"}


async def test_online_status_accepts_both_spellings(env: Env) -> None:
    await env.http.post("/v1/subscribers", json={"subscriberId": "fay"})
    on = await env.http.patch("/v1/subscribers/fay/online-status", json={"isOnline": True})
    assert on.status_code == 200 and on.json()["data"]["isOnline"] is True
    assert "lastOnlineAt" not in on.json()["data"]
    off = await env.http.patch("/v1/subscribers/fay/online-status", json={"online": False})
    assert off.json()["data"]["isOnline"] is False and off.json()["data"]["lastOnlineAt"].endswith("Z")
    bad = await env.http.patch("/v1/subscribers/fay/online-status", json={"isOnline": "yes"})
    assert bad.status_code == 400 and bad.json()["message"] == ["isOnline must be a boolean value"]
    missing = await env.http.patch("/v1/subscribers/nobody/online-status", json={"isOnline": True})
    assert missing.status_code == 404 and missing.json()["message"] == "Subscriber not found"


async def test_environments_are_isolated(env: Env, stack: Stack) -> None:
    other = await stack.new_env()
    await other.http.post("/v1/subscribers", json={"subscriberId": "secret", "email": "s@example.com"})
    assert (await env.http.get("/v1/subscribers/secret")).status_code == 404
    assert (await env.http.get("/v1/subscribers")).json()["data"] == []
    assert (await env.http.delete("/v1/subscribers/secret")).status_code == 404


async def test_concurrent_creates_of_one_id_make_one_subscriber(any_stack: Stack) -> None:
    env = await any_stack.new_env()

    responses = await asyncio.gather(
        *[
            env.http.post("/v1/subscribers", json={"subscriberId": "race", "firstName": f"R{i}"})
            for i in range(8)
        ]
    )
    assert [r.status_code for r in responses] == [201] * 8
    assert len({r.json()["data"]["_id"] for r in responses}) == 1
    assert await env.sql("select count(*) from subscribers where subscriber_id = 'race'") == [(1,)]
