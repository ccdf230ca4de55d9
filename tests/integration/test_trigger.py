"""The trigger path end to end: API → Temporal → worker → feed and mailbox."""

from __future__ import annotations

import asyncio

from tests.support import Env, Stack


async def test_trigger_lands_in_feed_and_mailbox(any_stack: Stack) -> None:
    env = await any_stack.new_env()
    resp = await env.trigger(
        "welcome",
        {"subscriberId": "ada", "email": "ada@example.com", "firstName": "Ada"},
        {"name": "Ada Lovelace"},
        transactionId="tx-welcome-1",
    )
    assert resp.status_code == 201, resp.text
    assert resp.json() == {
        "data": {"acknowledged": True, "status": "processed", "transactionId": "tx-welcome-1"}
    }
    await env.settle("tx-welcome-1")

    feed = await env.feed("ada")
    assert (
        feed["totalCount"] == 1 and feed["hasMore"] is False and feed["page"] == 0 and feed["pageSize"] == 10
    )
    item = feed["data"][0]
    assert item["content"] == "Welcome to Tidings, Ada Lovelace!"
    assert item["channel"] == "in_app" and item["seen"] is False and item["read"] is False
    assert item["transactionId"] == "tx-welcome-1"
    assert item["subscriber"]["subscriberId"] == "ada"

    mails = await any_stack.mailbox.wait_for(1, "ada@example.com")
    assert mails[0]["Subject"] == "Welcome to Tidings, Ada Lovelace"
    html = mails[0].get_body(("html",)).get_content()
    assert "Hi Ada," in html


async def test_duplicate_transaction_delivers_once(env: Env, stack: Stack) -> None:
    body = {"subscriberId": "bob", "email": "bob@example.com"}
    responses = await asyncio.gather(
        *[env.trigger("welcome", body, {"name": "Bob"}, transactionId="dup-1") for _ in range(8)]
    )
    assert [r.status_code for r in responses] == [201] * 8
    assert {r.json()["data"]["transactionId"] for r in responses} == {"dup-1"}
    await env.settle("dup-1")
    again = await env.trigger("welcome", body, {"name": "Bob"}, transactionId="dup-1")
    assert again.status_code == 201 and again.json()["data"]["status"] == "processed"
    await env.settle("dup-1")  # the one (completed) run: a duplicate start would be a newer, running one
    assert (await env.feed("bob"))["totalCount"] == 1
    assert len(stack.mailbox.to("bob@example.com")) == 1
