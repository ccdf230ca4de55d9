"""The Temporal UI reads like the notification: step activities carry summaries, the execution names
the workflow and its recipients, and the notifications API links to the run."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.contrib.pydantic import pydantic_data_converter

from tests.support import Env
from tidings.temporal import TRANSACTION_ID
from workflows.models import execution_id

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

    handle = env.stack.client.get_workflow_handle(execution_id(env.id, tx))
    description = await handle.describe()
    assert await description.static_summary() == f"{identifier} → ada"
    # Found in the Temporal UI by its transactionId (the search attribute the API sets at start).
    assert description.typed_search_attributes.get(TRANSACTION_ID) == tx
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


async def test_notification_stats_graph_and_provider_webhook_status(env: Env) -> None:
    empty = (await env.http.get("/v1/notifications/stats")).json()["data"]
    assert empty == {"weeklySent": 0, "monthlySent": 0}
    wf = (await env.http.post("/v1/workflows", json=TWO_STEPS)).json()["data"]
    identifier = wf["triggers"][0]["identifier"]
    for n in range(2):
        resp = await env.trigger(identifier, {"subscriberId": f"s{n}", "email": f"s{n}@example.com"})
        await env.settle(resp.json()["data"]["transactionId"])

    assert (await env.http.get("/v1/notifications/stats")).json()["data"] == {
        "weeklySent": 2,
        "monthlySent": 2,
    }
    graph = (await env.http.get("/v1/notifications/graph/stats", params={"days": 7})).json()["data"]
    assert len(graph) == 1
    assert graph[0]["count"] == 4 and sorted(graph[0]["channels"]) == ["email", "in_app"]
    assert graph[0]["templates"] == [wf["_id"]]
    assert (await env.http.get("/v1/notifications/graph/stats", params={"days": 0})).status_code == 400

    integration = (await env.http.get("/v1/integrations")).json()["data"][0]
    for key in (integration["_id"], integration["providerId"]):
        resp = await env.http.get(f"/v1/integrations/webhook/provider/{key}/status")
        assert resp.status_code == 200 and resp.json() == {"data": False}
    missing = await env.http.get("/v1/integrations/webhook/provider/nope/status")
    assert missing.status_code == 404
