"""Replay committed histories of the Notification workflow: a change to workflow code that would break
executions already running (nondeterminism) fails here.

Re-record the histories (after an intended, versioned change) with:

    TIDINGS_RECORD_HISTORIES=1 .venv/bin/pytest -q tests/integration/test_replay.py

which runs the scenarios below on the real stack and rewrites ``tests/histories/*.json``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests import catalog_fixtures
from tests.support import Env
from worker import WORKFLOWS, sandbox_runner
from workflows.models import execution_id

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
RECORD = os.environ.get("TIDINGS_RECORD_HISTORIES") == "1"

REST_WORKFLOW = {
    "name": "Replay rest",
    "notificationGroup": {"name": "General"},
    "active": True,
    "steps": [
        {
            "filters": [
                {
                    "type": "GROUP",
                    "value": "AND",
                    "children": [{"on": "payload", "field": "n", "operator": "LARGER", "value": 1}],
                }
            ],
            "template": {"type": "in_app", "content": "{{#if n}}n={{n}}{{/if}}"},
        },
        {"template": {"type": "email", "subject": "Hi {{subscriber.firstName}}", "content": "<p>{{n}}</p>"}},
    ],
}


async def scenarios(env: Env) -> dict[str, str]:
    """Run each recorded scenario; returns history name → transaction id."""
    await catalog_fixtures.add_to(env, "test-custom")
    rest = (await env.http.post("/v1/workflows", json=REST_WORKFLOW)).json()["data"]
    runs: dict[str, tuple[str, Any, dict[str, Any]]] = {
        "code_welcome": ("welcome", {"subscriberId": "r1", "email": "r1@example.com"}, {"name": "Ada"}),
        "rest_filters_email": (
            rest["triggers"][0]["identifier"],
            [{"subscriberId": "r2", "firstName": "Bo", "email": "r2@example.com"}, "r3"],
            {"n": 2},
        ),
        "code_custom_step": ("test-custom", "r4", {"user": "vip"}),
    }
    for name, (workflow, to, payload) in runs.items():
        resp = await env.trigger(workflow, to, payload, transactionId=f"replay-{name}")
        assert resp.status_code == 201, resp.text
        await env.settle(f"replay-{name}")
    return {name: f"replay-{name}" for name in runs}


@pytest.mark.skipif(not RECORD, reason="set TIDINGS_RECORD_HISTORIES=1 to re-record the histories")
async def test_record_histories(env: Env) -> None:
    HISTORIES.mkdir(exist_ok=True)
    for name, tx in (await scenarios(env)).items():
        history = await env.stack.client.get_workflow_handle(execution_id(env.id, tx)).fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json())


async def test_replay_committed_histories() -> None:
    files = sorted(HISTORIES.glob("*.json"))
    assert files, "no committed histories in tests/histories"
    replayer = Replayer(
        workflows=WORKFLOWS, workflow_runner=sandbox_runner(), data_converter=pydantic_data_converter
    )
    for path in files:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
