"""Real-time Inbox push over socket.io: from the worker (another process's work) and from the v1 routes,
on PostgreSQL (LISTEN/NOTIFY, two API replicas) and SQLite (the embedded hand-over)."""

from __future__ import annotations

import pytest
import socketio

from tests.inbox_support import SocketInbox, in_app_workflow, open_session, serve_api
from tests.support import Stack


async def test_trigger_pushes_to_the_socket_and_v1_marks_update_counts(
    any_stack: Stack, temporal_address: str
) -> None:
    env = await any_stack.new_env()
    await in_app_workflow(any_stack, env)
    inbox, session = await open_session(env, "sue")
    async with serve_api(any_stack, temporal_address) as url:
        sock = await SocketInbox().connect(url, session["token"])
        try:
            resp = await env.trigger("comment", "sue", {"name": "Ann"}, transactionId="tx-live-1")
            assert resp.status_code == 201
            received = await sock.wait_for("notification_received")
            message = received["message"]
            assert message["content"] == "Hello Ann" and message["read"] is False
            assert message["subscriber"]["subscriberId"] == "sue" and message["cta"]["type"] == "redirect"
            listed = (await inbox.get("/v1/inbox/notifications")).json()["data"]
            assert [n["id"] for n in listed] == [message["_id"]]  # the same row the REST list serves
            await sock.wait_for("unseen_count_changed", lambda d: d == {"unseenCount": 1})
            await sock.wait_for("unread_count_changed", lambda d: d["counts"]["total"] == 1)

            # A v1 route (server-side, API key) changes state: the browser hears it too.
            marked = await env.http.post(
                "/v1/subscribers/sue/messages/mark-as", json={"messageId": message["_id"], "markAs": "read"}
            )
            assert marked.status_code == 201
            await sock.wait_for("unread_count_changed", lambda d: d["counts"]["total"] == 0)
            await sock.wait_for("unseen_count_changed", lambda d: d == {"unseenCount": 0})
            await env.http.post("/v1/subscribers/sue/messages/mark-all", json={"markAs": "unread"})
            await sock.wait_for("unread_count_changed", lambda d: d["unreadCount"] == 1)
            # And an Inbox route.
            await inbox.post("/v1/inbox/notifications/read", json={})
            reads = sock.of("unread_count_changed")
            await sock.wait_for(
                "unread_count_changed",
                lambda d: d["unreadCount"] == 0 and len(sock.of("unread_count_changed")) > len(reads),
            )
            assert len(sock.of("notification_received")) == 1
        finally:
            await sock.close()


async def test_two_api_replicas_each_reach_their_own_sockets(stack: Stack, temporal_address: str) -> None:
    """Two API processes on one PostgreSQL database, a client on each: both get their own events."""
    env = await stack.new_env()
    await in_app_workflow(stack, env)
    _, ann = await open_session(env, "ann")
    _, bob = await open_session(env, "bob")
    async with serve_api(stack, temporal_address) as first, serve_api(stack, temporal_address) as second:
        on_first = await SocketInbox().connect(first, ann["token"])
        on_second = await SocketInbox().connect(second, bob["token"])
        try:
            for sid in ("ann", "bob"):
                resp = await env.trigger("comment", sid, {"name": sid}, transactionId=f"tx-replica-{sid}")
                assert resp.status_code == 201
            got_ann = await on_first.wait_for("notification_received")
            got_bob = await on_second.wait_for("notification_received")
            assert got_ann["message"]["content"] == "Hello ann"
            assert got_bob["message"]["content"] == "Hello bob"
            await env.settle("tx-replica-ann")
            await env.settle("tx-replica-bob")
            # Each socket heard only its own subscriber.
            assert [m["message"]["content"] for m in on_first.of("notification_received")] == ["Hello ann"]
            assert [m["message"]["content"] for m in on_second.of("notification_received")] == ["Hello bob"]
        finally:
            await on_first.close()
            await on_second.close()


async def test_sockets_need_a_valid_token_and_are_capped(stack: Stack, temporal_address: str) -> None:
    env = await stack.new_env()
    _, session = await open_session(env, "cap")
    async with serve_api(stack, temporal_address, inbox_max_sockets_per_subscriber=2) as url:
        for token in ("", "garbage", session["token"][:-4] + "AAAA"):
            with pytest.raises(socketio.exceptions.ConnectionError):
                await SocketInbox().connect(url, token)
        first = await SocketInbox().connect(url, session["token"])
        second = await SocketInbox().connect(url, session["token"])
        with pytest.raises(socketio.exceptions.ConnectionError):
            await SocketInbox().connect(url, session["token"])
        await first.close()
        third = await SocketInbox().connect(url, session["token"])  # a freed slot can be used again
        await second.close()
        await third.close()
        # A token whose subscriber was deleted passes the signature check but not the connect.
        assert (await env.http.delete("/v1/subscribers/cap")).status_code == 200
        with pytest.raises(socketio.exceptions.ConnectionError):
            await SocketInbox().connect(url, session["token"])


async def test_deleting_a_transaction_tells_every_subscribers_socket(
    stack: Stack, temporal_address: str
) -> None:
    """``DELETE /v1/messages/transaction/{id}`` (server side) reaches each recipient's socket."""
    env = await stack.new_env()
    await in_app_workflow(stack, env)
    _, ann = await open_session(env, "ann")
    _, bob = await open_session(env, "bob")
    resp = await env.trigger("comment", ["ann", "bob"], {"name": "x"}, transactionId="tx-del")
    assert resp.status_code == 201
    await env.settle("tx-del")
    async with serve_api(stack, temporal_address) as url:
        socks = [await SocketInbox().connect(url, s["token"]) for s in (ann, bob)]
        try:
            assert (await env.http.delete("/v1/messages/transaction/tx-del")).status_code == 204
            for sock in socks:
                await sock.wait_for("unread_count_changed", lambda d: d["unreadCount"] == 0)
                assert sock.of("notification_received") == []
        finally:
            for sock in socks:
                await sock.close()


def test_session_tokens_are_redacted_from_server_logs() -> None:
    """uvicorn logs a websocket's URL; the Inbox token ``@novu/js`` puts in it must not reach the log."""
    import logging

    from api.realtime import RedactTokens

    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        "",
        0,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:1", "/socket.io/?token=eyJ.abc.def&EIO=4&transport=websocket"),
        None,
    )
    assert RedactTokens().filter(record)
    assert "eyJ" not in record.getMessage() and "token=[redacted]&EIO=4" in record.getMessage()


async def test_v2_notification_routes_reach_the_inbox_sockets(stack: Stack, temporal_address: str) -> None:
    """Today's SDKs change notifications through /v2/subscribers/{id}/notifications: a browser with the Inbox
    open hears those changes like any other (one entry point, store/message_events.py)."""
    env = await stack.new_env()
    await in_app_workflow(stack, env)
    _inbox, session = await open_session(env, "vic")
    async with serve_api(stack, temporal_address) as url:
        sock = await SocketInbox().connect(url, session["token"])
        try:
            for i in range(2):
                assert (
                    await env.trigger("comment", "vic", {"name": f"#{i}"}, transactionId=f"v2rt-{i}")
                ).status_code == 201
            await sock.wait_for("unread_count_changed", lambda d: d["counts"]["total"] == 2)
            first = (await env.http.get("/v2/subscribers/vic/notifications")).json()["data"][0]["id"]
            assert (
                await env.http.patch(f"/v2/subscribers/vic/notifications/{first}/read")
            ).status_code == 200
            await sock.wait_for("unread_count_changed", lambda d: d["counts"]["total"] == 1)
            assert (await env.http.post("/v2/subscribers/vic/notifications/read", json={})).status_code == 204
            await sock.wait_for("unread_count_changed", lambda d: d["counts"]["total"] == 0)
        finally:
            await sock.close()
