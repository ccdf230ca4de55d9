"""The unmodified ``@novu/js`` client (npm, run under Node) against Tidings over real HTTP and socket.io."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.inbox_support import app_id, deliver, in_app_workflow
from tests.support import Stack

HERE = Path(__file__).parent / "js_inbox"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (HERE / "node_modules" / "@novu" / "js").exists(),
    reason="needs Node and `npm ci` in tests/clients/js_inbox",
)


async def test_novu_js_session_list_read_count_preferences_and_live_push(stack: Stack, live_api: str) -> None:
    env = await stack.new_env()
    workflow_id = await in_app_workflow(stack, env)
    await deliver(env, "comment", "jo", 2, "tx-js")
    proc = await asyncio.create_subprocess_exec(
        "node",
        "inbox.mjs",
        cwd=HERE,
        env={
            **os.environ,
            "API_URL": live_api,
            "APP_ID": await app_id(env),
            "SUBSCRIBER_ID": "jo",
            "WORKFLOW_ID": workflow_id,
            "API_KEY": env.key,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=90)
    assert proc.returncode == 0, err.decode()
    report = json.loads(out.decode().strip().splitlines()[-1])

    assert report["session"] == {"totalUnreadCount": 2}
    assert [n["body"] for n in report["list"]] == ["Hello #1", "Hello #0"]
    assert report["read"] == {"id": report["list"][0]["id"], "isRead": True}
    assert report["unreadAfterRead"] == 1
    assert report["preferences"]["levels"][0] == "global" and report["preferences"]["mine"] == {
        "in_app": True
    }
    assert report["preferenceUpdated"] == {"in_app": False}
    assert report["triggerStatus"] == 201
    assert report["live"]["body"] == "Hello live" and report["live"]["isRead"] is False
    assert report["unreadCountChanged"]["total"] == 2
    # What the client did is what the server holds.
    feed = await env.feed("jo")
    assert {m["_id"]: m["read"] for m in feed["data"]}[report["read"]["id"]] is True
    assert report["live"]["id"] in {m["_id"] for m in feed["data"]}
