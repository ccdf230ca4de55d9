"""The Inbox REST API (``/v1/inbox``) as ``@novu/js`` calls it, on the same rows as the v1 feed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.inbox_support import BUTTONS, deliver, in_app_workflow, open_session
from tests.support import Stack


async def test_session_list_mark_and_count(any_stack: Stack) -> None:
    env = await any_stack.new_env()
    await in_app_workflow(any_stack, env, cta=BUTTONS)
    inbox, session = await open_session(
        env, "ivy", subscriber={"firstName": "Ivy", "email": "ivy@example.com"}
    )
    assert session["totalUnreadCount"] == 0 and session["unreadCount"]["total"] == 0
    sub = (await env.http.get("/v1/subscribers/ivy")).json()["data"]
    assert sub["firstName"] == "Ivy" and sub["email"] == "ivy@example.com"  # created on the fly
    # Without HMAC a browser cannot rewrite an existing subscriber's profile.
    await open_session(env, "ivy", subscriber={"email": "mallory@example.com"})
    assert (await env.http.get("/v1/subscribers/ivy")).json()["data"]["email"] == "ivy@example.com"

    await deliver(env, "comment", "ivy", 3, "tx-list")
    page = (await inbox.get("/v1/inbox/notifications", params={"limit": 2})).json()
    assert page["hasMore"] is True and [n["body"] for n in page["data"]] == ["Hello #2", "Hello #1"]
    first = page["data"][0]
    assert first["isRead"] is False and first["isSeen"] is False and first["isArchived"] is False
    assert first["to"]["subscriberId"] == "ivy" and first["workflow"]["identifier"] == "comment"
    assert first["primaryAction"] == {
        "label": "Accept",
        "isCompleted": False,
        "redirect": {"url": "https://example.com/accept"},
    }
    assert first["secondaryAction"]["label"] == "Decline" and first["redirect"] == {"url": "/tasks/1"}
    rest = (
        await inbox.get("/v1/inbox/notifications", params={"limit": 2, "after": page["data"][1]["id"]})
    ).json()
    assert [n["body"] for n in rest["data"]] == ["Hello #0"] and rest["hasMore"] is False
    offset = (await inbox.get("/v1/inbox/notifications", params={"limit": 5, "offset": 1})).json()
    assert [n["body"] for n in offset["data"]] == ["Hello #1", "Hello #0"]

    # The same rows as the v1 feed: reading in the Inbox shows there.
    read = await inbox.patch(f"/v1/inbox/notifications/{first['id']}/read")
    assert read.status_code == 200 and read.json()["data"]["isRead"] is True
    feed = await env.feed("ivy")
    assert {m["_id"]: m["read"] for m in feed["data"]}[first["id"]] is True

    filters = [{"read": False}, {"read": True}, {"archived": True}, {"tags": ["t"]}, {"tags": ["nope"]}]
    counts = (
        await inbox.get("/v1/inbox/notifications/count", params={"filters": json.dumps(filters)})
    ).json()
    assert [c["count"] for c in counts["data"]] == [2, 1, 0, 3, 0]
    assert counts["data"][0]["filter"] == {"read": False}

    archived = (await inbox.patch(f"/v1/inbox/notifications/{first['id']}/archive")).json()["data"]
    assert archived["isArchived"] is True and archived["archivedAt"]
    only_archived = (await inbox.get("/v1/inbox/notifications", params={"archived": "true"})).json()
    assert [n["id"] for n in only_archived["data"]] == [first["id"]]
    assert (await inbox.patch(f"/v1/inbox/notifications/{first['id']}/unarchive")).json()["data"][
        "isArchived"
    ] is False
    assert (await inbox.patch(f"/v1/inbox/notifications/{first['id']}/unread")).json()["data"][
        "isRead"
    ] is False

    done = await inbox.patch(
        f"/v1/inbox/notifications/{first['id']}/complete", json={"actionType": "primary"}
    )
    assert done.json()["data"]["primaryAction"]["isCompleted"] is True
    back = await inbox.patch(f"/v1/inbox/notifications/{first['id']}/revert", json={"actionType": "primary"})
    assert back.json()["data"]["primaryAction"]["isCompleted"] is False

    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    snoozed = await inbox.patch(f"/v1/inbox/notifications/{first['id']}/snooze", json={"snoozeUntil": until})
    assert snoozed.status_code == 200 and snoozed.json()["data"]["isSnoozed"] is True
    visible = (await inbox.get("/v1/inbox/notifications")).json()["data"]
    assert first["id"] not in [n["id"] for n in visible] and len(visible) == 2
    hidden = (await inbox.get("/v1/inbox/notifications", params={"snoozed": "true"})).json()["data"]
    assert [n["id"] for n in hidden] == [first["id"]]
    await inbox.patch(f"/v1/inbox/notifications/{first['id']}/unsnooze")
    assert len((await inbox.get("/v1/inbox/notifications")).json()["data"]) == 3

    seen = await inbox.post("/v1/inbox/notifications/seen", json={"notificationIds": [first["id"]]})
    assert seen.status_code == 204
    unseen = (await inbox.get("/v1/inbox/notifications", params={"seen": "false"})).json()["data"]
    assert first["id"] not in [n["id"] for n in unseen] and len(unseen) == 2

    assert (await inbox.post("/v1/inbox/notifications/read", json={})).status_code == 204
    assert (await env.http.get("/v1/subscribers/ivy/notifications/unseen", params={"seen": "false"})).json()[
        "data"
    ]["count"] == 0
    assert (await inbox.post("/v1/inbox/notifications/read-archive", json={"tags": ["t"]})).status_code == 204
    assert len((await inbox.get("/v1/inbox/notifications", params={"archived": "false"})).json()["data"]) == 0

    gone = await inbox.delete(f"/v1/inbox/notifications/{first['id']}/delete")
    assert gone.status_code == 204
    assert (await inbox.patch(f"/v1/inbox/notifications/{first['id']}/read")).status_code == 404
    assert (await inbox.post("/v1/inbox/notifications/delete", json={})).status_code == 204
    assert (await inbox.get("/v1/inbox/notifications", params={"archived": "true"})).json()["data"] == []
    assert (await env.feed("ivy"))["data"] == []


async def test_data_filter_and_bulk_archive(any_stack: Stack) -> None:
    env = await any_stack.new_env()
    await in_app_workflow(any_stack, env)
    inbox, _ = await open_session(env, "dan")
    await deliver(env, "comment", "dan", 3, "tx-data")
    # REST workflows carry no in-app ``data`` (code workflows do): set it on the rows directly.
    for i, kind in enumerate(["bill", "chat", "bill"]):
        data = json.dumps({"kind": kind, "n": i})
        value = ":d" if any_stack.db.is_sqlite else "CAST(:d AS JSON)"
        sql = f"UPDATE messages SET data = {value} WHERE transaction_id = :tx RETURNING id"
        assert len(await env.sql(sql, d=data, tx=f"tx-data-{i}")) == 1
    bills = (await inbox.get("/v1/inbox/notifications", params={"data": json.dumps({"kind": "bill"})})).json()
    assert len(bills["data"]) == 2 and bills["filter"] == {"data": {"kind": "bill"}}
    assert (
        await inbox.post("/v1/inbox/notifications/archive", json={"data": json.dumps({"kind": "bill"})})
    ).status_code == 204
    left = (await inbox.get("/v1/inbox/notifications", params={"archived": "false"})).json()["data"]
    assert [n["data"] for n in left] == [{"kind": "chat", "n": 1}]
    bad = await inbox.get("/v1/inbox/notifications", params={"data": "{nope"})
    assert bad.status_code == 400 and bad.json()["statusCode"] == 400


async def test_preferences_are_the_v1_preferences_and_honoured(stack: Stack) -> None:
    env = await stack.new_env()
    workflow_id = await in_app_workflow(stack, env)
    inbox, _ = await open_session(env, "pam")
    prefs = (await inbox.get("/v1/inbox/preferences")).json()["data"]
    assert prefs[0] == {
        "level": "global",
        "enabled": True,
        "channels": {"in_app": True, "email": True, "sms": True, "chat": True, "push": True},
    }
    mine = next(p for p in prefs if p.get("workflow", {}).get("identifier") == "comment")
    assert mine["level"] == "template" and mine["channels"] == {"in_app": True}

    off = await inbox.patch(f"/v1/inbox/preferences/{workflow_id}", json={"in_app": False})
    assert off.status_code == 200 and off.json()["data"]["channels"] == {"in_app": False}
    v1 = (await env.http.get("/v1/subscribers/pam/preferences")).json()["data"]
    v1_mine = next(p for p in v1 if p["template"]["_id"] == workflow_id)
    assert v1_mine["preference"]["channels"] == {"in_app": False}  # the same row the v1 routes read

    resp = await env.trigger("comment", "pam", {"name": "x"}, transactionId="tx-pref-off")
    assert resp.status_code == 201
    await env.settle("tx-pref-off")
    assert (await inbox.get("/v1/inbox/notifications")).json()["data"] == []  # honoured by the worker

    bulk = await inbox.patch(
        "/v1/inbox/preferences/bulk", json={"preferences": [{"workflowId": "comment", "in_app": True}]}
    )
    assert bulk.status_code == 200 and bulk.json()["data"][0]["channels"] == {"in_app": True}
    await inbox.patch("/v1/inbox/preferences", json={"email": False})
    assert (await inbox.get("/v1/inbox/preferences/global")).json()["data"]["channels"]["email"] is False
    v1_global = (await env.http.get("/v1/subscribers/pam/preferences/global")).json()["data"]
    assert v1_global[0]["preference"]["channels"]["email"] is False
    resp = await env.trigger("comment", "pam", {"name": "y"}, transactionId="tx-pref-on")
    await env.settle("tx-pref-on")
    assert [n["body"] for n in (await inbox.get("/v1/inbox/notifications")).json()["data"]] == ["Hello y"]

    unknown = await inbox.patch(
        "/v1/inbox/preferences/bulk",
        json={
            "preferences": [
                {"workflowId": "comment", "in_app": False},
                {"workflowId": "ghost", "in_app": False},
            ]
        },
    )
    assert unknown.status_code == 404
    still = (await inbox.get("/v1/inbox/preferences")).json()["data"]
    assert next(p for p in still if p.get("workflow", {}).get("id") == workflow_id)["channels"] == {
        "in_app": True
    }  # nothing of a refused bulk update was written


async def test_bad_input_gets_novu_errors_and_changes_nothing(stack: Stack) -> None:
    env = await stack.new_env()
    await in_app_workflow(stack, env)
    inbox, _ = await open_session(env, "bo")
    await deliver(env, "comment", "bo", 1, "tx-bad")
    (only,) = (await inbox.get("/v1/inbox/notifications")).json()["data"]
    anonymous = stack.http_client()
    cases = [
        (anonymous.post("/v1/inbox/session", json={"applicationIdentifier": "x"}), 400),
        (anonymous.post("/v1/inbox/session", json={"subscriberId": "bo"}), 400),
        (
            inbox.patch(
                f"/v1/inbox/notifications/{only['id']}/snooze", json={"snoozeUntil": "2001-01-01T00:00:00Z"}
            ),
            400,
        ),
        (
            inbox.patch(
                f"/v1/inbox/notifications/{only['id']}/snooze", json={"snoozeUntil": "2999-01-01T00:00:00Z"}
            ),
            400,
        ),
        (inbox.patch(f"/v1/inbox/notifications/{only['id']}/snooze", json={"snoozeUntil": "soon"}), 400),
        (inbox.patch(f"/v1/inbox/notifications/{only['id']}/complete", json={"actionType": "primary"}), 400),
        (inbox.patch(f"/v1/inbox/notifications/{only['id']}/complete", json={"actionType": "tertiary"}), 400),
        (inbox.get("/v1/inbox/notifications/count", params={"filters": "not json"}), 400),
        (inbox.get("/v1/inbox/notifications/count", params={"filters": '[{"read": "yes"}]'}), 400),
        (inbox.get("/v1/inbox/notifications", params={"limit": "500"}), 400),
        (inbox.get("/v1/inbox/notifications", params={"read": "maybe"}), 400),
        (inbox.post("/v1/inbox/notifications/archive", json={"tags": "t"}), 400),
        (inbox.patch("/v1/inbox/notifications/000000000000000000000000/read"), 404),
        (inbox.patch("/v1/inbox/preferences/ghost", json={"in_app": False}), 404),
        (inbox.patch("/v1/inbox/preferences", json={"in_app": "off"}), 400),
    ]
    for request, status in cases:
        resp = await request
        body = resp.json()
        assert resp.status_code == status, resp.text
        assert set(body) >= {"statusCode", "timestamp", "path", "message", "error"}
    assert (await inbox.get("/v1/inbox/notifications")).json()["data"] == [only]  # nothing changed
