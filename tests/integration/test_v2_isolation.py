"""Every v2 route the compatibility table marks "works", called with another environment's key, neither
shows nor changes the first environment's subscriber, topic, subscription, preferences or notifications.

The routes come from docs/sdk-compatibility.md, so a v2 route added later is covered (or this test asks
for its request body).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.clients.test_sdk_compatibility import table_rows
from tests.support import Stack

#: The body each v2 write sends (keyed by "METHOD path" as the table writes it).
BODIES: dict[str, Any] = {
    "POST /v2/subscribers": {"subscriberId": "own", "firstName": "Mallory"},
    "PATCH /v2/subscribers/{subscriberId}": {"firstName": "Mallory"},
    "PATCH /v2/subscribers/{subscriberId}/preferences": {"channels": {"email": False}},
    "PATCH /v2/subscribers/{subscriberId}/preferences/bulk": {
        "preferences": [{"workflowId": "welcome", "channels": {"email": False}}]
    },
    "POST /v2/topics": {"key": "own-topic", "name": "Mallory"},
    "PATCH /v2/topics/{topicKey}": {"name": "Mallory"},
    "POST /v2/topics/{topicKey}/subscriptions": {"subscriberIds": ["own"]},
    "DELETE /v2/topics/{topicKey}/subscriptions": {"subscriberIds": ["own"]},
    "PATCH /v2/topics/{topicKey}/subscriptions/{identifier}": {"name": "Mallory"},
    "POST /v2/subscribers/{subscriberId}/notifications/seen": {"notificationIds": ["<notification>"]},
    "PATCH /v2/subscribers/{subscriberId}/notifications/{notificationId}/snooze": {
        "snoozeUntil": (datetime.now(UTC) + timedelta(days=1)).isoformat()
    },
}
#: What the other environment legitimately gets where the path names nothing of the owner's.
NOT_404 = {
    "GET /v2/subscribers": 200,  # its own (empty) list
    "POST /v2/subscribers": 201,  # its own new subscriber "own"
    "GET /v2/topics": 200,
    "POST /v2/topics": 201,
    "POST /v2/topics/{topicKey}/subscriptions": 400,  # its own new topic; "own" is not its subscriber
}


async def owner_state(env: Any, note_id: str) -> dict[str, Any]:
    sub = (await env.http.get("/v2/subscribers/own")).json()["data"]
    topic = (await env.http.get("/v2/topics/own-topic")).json()["data"]
    subs = (await env.http.get("/v2/topics/own-topic/subscriptions")).json()["data"]
    prefs = (await env.http.get("/v2/subscribers/own/preferences")).json()["data"]
    notes = (await env.http.get("/v2/subscribers/own/notifications")).json()["data"]
    note = next(n for n in notes if n["id"] == note_id)
    return {
        "subscriber": (sub["firstName"], sub.get("lastName"), sub["updatedAt"]),
        "topic": topic["name"],
        "subscriptions": [(s["identifier"], s.get("name")) for s in subs],
        "preferences": (
            prefs["global"],
            [(w["workflow"]["identifier"], w["channels"]) for w in prefs["workflows"]],
        ),
        "notification": (note["isRead"], note["isSeen"], note["isArchived"]),
    }


async def test_other_environment_cannot_reach_v2_data(stack: Stack) -> None:
    owner, other = await stack.new_env(), await stack.new_env()
    assert (
        await owner.http.post("/v2/subscribers", json={"subscriberId": "own", "firstName": "Olga"})
    ).status_code == 201
    made = await owner.http.post(
        "/v2/topics/own-topic/subscriptions",
        json={"subscriptions": [{"identifier": "own-id", "subscriberId": "own"}]},
    )
    assert made.status_code == 201, made.text
    assert (await owner.trigger("welcome", "own", {"name": "O"}, transactionId="iso-1")).status_code == 201
    await owner.settle("iso-1")
    note_id = (await owner.http.get("/v2/subscribers/own/notifications")).json()["data"][0]["id"]
    before = await owner_state(owner, note_id)

    values = {
        "subscriberId": "own",
        "topicKey": "own-topic",
        "identifier": "own-id",
        "notificationId": note_id,
        "actionType": "primary",
    }
    checked: list[str] = []
    # Subscriber- and topic-owned data (translations are walked by tests/integration/test_isolation.py).
    rows = [
        (name, row)
        for name, row in table_rows().items()
        if row[3] == "works" and row[2].startswith(("/v2/subscribers", "/v2/topics"))
    ]
    # The calls that create the other environment's own "own" topic and subscriber go last, in this order.
    last = ["POST /v2/topics/{topicKey}/subscriptions", "POST /v2/topics", "POST /v2/subscribers"]
    rows.sort(key=lambda item: last.index(k) + 1 if (k := f"{item[1][1]} {item[1][2]}") in last else 0)
    for name, (_, method, path, _status) in rows:
        key = f"{method} {path}"
        url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
        body = BODIES.get(key)
        if method in ("POST", "PATCH", "PUT") and body is None:
            body = {}
        if body is not None and "notificationIds" in body:
            body = {"notificationIds": [note_id]}
        params = {"filters": "[{}]"} if path.endswith("/count") else None
        resp = await other.http.request(method, url, json=body, params=params)
        expected = NOT_404.get(key, 404)
        assert resp.status_code == expected, f"{name} ({key}): {resp.status_code} {resp.text[:300]}"
        if method == "GET" and expected == 200:
            assert resp.json()["data"] == [], f"{name} shows another environment's rows"
        checked.append(name)

    assert len(checked) >= 30  # every v2 route of the table
    assert await owner_state(owner, note_id) == before
