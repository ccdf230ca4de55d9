"""The console talks: one line per trigger and per failed step, as text or JSON, with no secrets."""

from __future__ import annotations

import json
import logging

import pytest

from tests.support import Env
from tidings.logs import JsonFormatter

SMS_ONLY = {
    "name": "Console",
    "notificationGroup": {"name": "General"},
    "active": True,
    "steps": [{"template": {"type": "sms", "content": "Code {{code}}"}}],
}


async def test_one_line_per_trigger_and_per_failed_step(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    wf = (await env.http.post("/v1/workflows", json=SMS_ONLY)).json()["data"]
    name = wf["triggers"][0]["identifier"]
    caplog.set_level(logging.INFO)
    resp = await env.trigger(name, {"subscriberId": "cal", "phone": "+15550001111"}, {"code": "1234"})
    tx = resp.json()["data"]["transactionId"]
    await env.settle(tx)

    triggers = [r for r in caplog.records if getattr(r, "fields", {}).get("event") == "trigger"]
    assert len(triggers) == 1
    assert triggers[0].getMessage() == f"trigger {name} to cal: processed (transactionId {tx})"
    failed = [r for r in caplog.records if getattr(r, "fields", {}).get("event") == "step_failed"]
    assert len(failed) == 1 and failed[0].levelno == logging.WARNING
    assert failed[0].fields["subscriberId"] == "cal"  # type: ignore[attr-defined]
    assert "does not have an active integration" in failed[0].getMessage()
    assert all(env.key not in r.getMessage() for r in caplog.records)

    missing = await env.trigger("no-such-workflow", "cal")
    assert missing.status_code == 422
    rejected = [r for r in caplog.records if getattr(r, "fields", {}).get("status") == "rejected"]
    assert len(rejected) == 1 and rejected[0].getMessage().startswith("trigger no-such-workflow rejected: ")

    line = json.loads(JsonFormatter().format(failed[0]))
    assert line["level"] == "warning" and line["logger"] == "tidings.delivery"
    assert line["transactionId"] == tx and line["channel"] == "sms" and line["event"] == "step_failed"
