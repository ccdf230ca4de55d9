"""The v2 routes' own SQL (search filters, cursors, JSON tag/data filters) on both PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text

from tests.support import Stack


async def test_v2_queries_on_both_backends(any_stack: Stack) -> None:
    env = await any_stack.new_env()
    http = env.http
    for i in range(5):
        body = {"subscriberId": f"b{i}", "firstName": "Lin" if i % 2 else "Kim", "lastName": f"Ng_{i}"}
        assert (await http.post("/v2/subscribers", json=body)).status_code == 201
    # LIKE wildcards in the search text are literal: "_" matches only an underscore.
    found = (await http.get("/v2/subscribers", params={"name": "ng_3"})).json()
    assert [s["subscriberId"] for s in found["data"]] == ["b3"]
    assert (await http.get("/v2/subscribers", params={"subscriberId": "%"})).json()["data"] == []
    page = (await http.get("/v2/subscribers", params={"limit": 2, "orderBy": "updatedAt"})).json()
    back = (
        await http.get("/v2/subscribers", params={"limit": 2, "after": page["next"], "orderBy": "updatedAt"})
    ).json()
    assert [s["subscriberId"] for s in page["data"] + back["data"]] == ["b4", "b3", "b2", "b1"]
    with_cursor = (
        await http.get("/v2/subscribers", params={"limit": 2, "after": page["next"], "includeCursor": "true"})
    ).json()
    assert [s["subscriberId"] for s in with_cursor["data"]] == ["b3", "b2"]

    made = await http.post(
        "/v2/topics/team/subscriptions",
        json={"subscriptions": [{"identifier": "k", "subscriberId": "b0"}, "b1"]},
    )
    assert made.status_code == 201, made.text
    assert (await http.get("/v2/topics/team/subscriptions/tk_team:si_b1")).json()["data"]["identifier"] == (
        "tk_team:si_b1"
    )
    assert (await http.get("/v2/topics/team/subscriptions/nope")).status_code == 204

    for i in range(2):
        resp = await env.trigger("welcome", "b0", {"name": f"K{i}"}, transactionId=f"bk-{i}")
        assert resp.status_code == 201
        await env.settle(f"bk-{i}")
    async with any_stack.db.session() as session:
        await session.exec(  # type: ignore[call-overload]
            text("UPDATE messages SET tags = :tags, data = :data WHERE transaction_id = 'bk-1'"),
            params={"tags": '["billing", "urgent"]', "data": '{"plan": {"tier": "gold"}, "n": 1}'},
        )
    listed = (await http.get("/v2/subscribers/b0/notifications", params={"tags": ["urgent", "other"]})).json()
    assert [n["body"] for n in listed["data"]] == ["Welcome to Tidings, K1!"]
    by_data = (
        await http.get("/v2/subscribers/b0/notifications", params={"data": '{"plan": {"tier": "gold"}}'})
    ).json()
    assert [n["data"] for n in by_data["data"]] == [{"plan": {"tier": "gold"}, "n": 1}]
    none = (await http.get("/v2/subscribers/b0/notifications", params={"data": '{"n": 2}'})).json()
    assert none["data"] == []
    resp = await http.post("/v2/subscribers/b0/notifications/read", json={"tags": ["billing"]})
    assert resp.status_code == 204
    counts = (
        await http.get("/v2/subscribers/b0/notifications/count", params={"filters": '[{"read": true}]'})
    ).json()
    assert counts["data"][0]["count"] == 1


async def test_concurrent_subscribes_make_one_subscription(stack: Stack, live_api: str) -> None:
    env = await stack.new_env()
    assert (await env.http.post("/v2/subscribers", json={"subscriberId": "race"})).status_code == 201
    headers = {"Authorization": f"ApiKey {env.key}"}
    async with httpx.AsyncClient(base_url=live_api, headers=headers, timeout=30) as http:
        for round_ in range(5):
            # The topic exists first: creating it in the race would serialize the requests on its row.
            created = await http.post("/v2/topics", json={"key": f"rush-{round_}"})
            assert created.status_code == 201, created.text
            answers = await asyncio.gather(
                *[
                    http.post(f"/v2/topics/rush-{round_}/subscriptions", json={"subscriberIds": ["race"]})
                    for _ in range(8)
                ]
            )
            assert [a.status_code for a in answers] == [201] * 8, [a.text for a in answers]
            assert len({a.json()["data"]["data"][0]["_id"] for a in answers}) == 1
            listed = (await http.get(f"/v2/topics/rush-{round_}/subscriptions")).json()
            assert listed["totalCount"] == 1
