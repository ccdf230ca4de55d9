"""The Temporal UI reads like the notification: step activities carry summaries, the execution names
the workflow and its recipients, and the notifications API links to the run."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.contrib.pydantic import pydantic_data_converter

from tests.support import Env
from workflows.models import workflow_id

TWO_STEPS = {
    "name": "Readable",
    "notificationGroup": {"name": "General"},
    "active": True,
    "steps": [
        {"template": {"type": "in_app", "content": "Hi"}},
        {"template": {"type": "email", "subject": "Hi", "content": "<p>Hi</p>"}},
    ],
}


async def decode(payload: object) -> str:
    (value,) = await pydantic_data_converter.decode([payload])  # type: ignore[list-item]
    return str(value)


async def test_summaries_and_temporal_link(env: Env) -> None:
    wf = (await env.http.post("/v1/workflows", json=TWO_STEPS)).json()["data"]
    identifier = wf["triggers"][0]["identifier"]
    resp = await env.trigger(identifier, [{"subscriberId": "ada", "email": "ada@example.com"}])
    tx = resp.json()["data"]["transactionId"]
    await env.settle(tx)

    handle = env.stack.client.get_workflow_handle(workflow_id(env.id, tx))
    description = await handle.describe()
    assert await description.static_summary() == f"{identifier} → ada"
    history = await handle.fetch_history()
    summaries = [
        await decode(e.user_metadata.summary)
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.user_metadata.HasField("summary")
    ]
    assert any(s.startswith("email · ") and s.endswith(" · 1 subscriber") for s in summaries), summaries

    notes = (await env.http.get("/v1/notifications", params={"transactionId": tx})).json()["data"]
    assert notes[0]["temporalUrl"].endswith(f"/namespaces/default/workflows/{env.id}%3A{tx}")
