"""Prometheus metrics: the API's ``GET /metrics`` and the worker's metrics ports, parsed as Prometheus
text after real triggers."""

from __future__ import annotations

import secrets

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support import Env, Stack, eventually
from tidings import metrics
from tidings.devserver import free_port
from tidings.temporal import connect

EMAIL_WORKFLOW = {
    "name": "Metered",
    "notificationGroup": {"name": "General"},
    "active": True,
    "steps": [
        {"template": {"type": "in_app", "content": "Hi"}},
        {"template": {"type": "email", "subject": "Hi", "content": "<p>Hi</p>"}},
    ],
}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(values: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in values.items() if n == name and wanted <= ls)


async def scrape(env: Env) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    resp = await env.http.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    return samples(resp.text)


async def test_api_metrics_count_triggers_messages_and_provider_calls(env: Env) -> None:
    before = await scrape(env)
    wf = (await env.http.post("/v1/workflows", json=EMAIL_WORKFLOW)).json()["data"]
    name = wf["triggers"][0]["identifier"]
    resp = await env.trigger(name, {"subscriberId": "m1", "email": "m1@example.com"})
    await env.settle(resp.json()["data"]["transactionId"])
    missing = await env.trigger("no-such-workflow", "m1")
    assert missing.status_code == 422
    after = await scrape(env)

    def delta(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert delta("tidings_triggers_total", status="processed") == 1
    assert delta("tidings_triggers_total", status="rejected") == 1
    assert delta("tidings_trigger_seconds_count") == 2
    assert delta("tidings_messages_total", channel="email", status="sent") == 1
    assert delta("tidings_messages_total", channel="in_app", status="sent", provider="novu") == 1
    assert delta("tidings_provider_attempts_total", outcome="success") == 1
    assert delta("tidings_provider_send_seconds_count") == 1


async def test_worker_metrics_ports_serve_ours_and_the_sdks(temporal_address: str) -> None:
    ours, sdk = free_port(), free_port()
    metrics.serve(host="127.0.0.1", port=ours)
    client = await connect(
        temporal_address, "default", runtime=metrics.sdk_runtime(host="127.0.0.1", port=sdk)
    )
    await client.count_workflows()
    async with httpx.AsyncClient() as http:
        own = samples((await http.get(f"http://127.0.0.1:{ours}/metrics")).text)
        assert any(name == "tidings_messages_total" or name.startswith("tidings_") for name, _ in own)

        async def sdk_metrics() -> set[str] | None:
            names = {name for name, _ in samples((await http.get(f"http://127.0.0.1:{sdk}/metrics")).text)}
            return names if any(n.startswith("temporal_") for n in names) else None

        names = await eventually(sdk_metrics)
    assert any(n.startswith("temporal_request") for n in names), sorted(names)[:20]


def test_grafana_dashboard_uses_only_metrics_tidings_exports() -> None:
    import json
    import re
    from pathlib import Path

    from prometheus_client import REGISTRY

    dashboard = json.loads((Path(__file__).parents[2] / "deploy/grafana/tidings-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {
        re.sub(r"_(total|bucket|count|sum)$", "", m)
        for e in exprs
        for m in re.findall(r"\b(tidings_[a-z_]+)", e)
    }
    exported = {family.name for family in REGISTRY.collect()}
    assert used and used <= exported, used - exported


async def test_worker_runs_at_most_its_configured_workflow_tasks(temporal_address: str, stack: Stack) -> None:
    """``TIDINGS_WORKER_MAX_WORKFLOW_TASKS`` is the worker's workflow-task slots, as the SDK's slot gauges
    show an operator (each slot is a thread sharing the GIL with the activities' event loop)."""
    from worker import build_worker

    sdk = free_port()
    client = await connect(
        temporal_address, "default", runtime=metrics.sdk_runtime(host="127.0.0.1", port=sdk)
    )
    queue = f"slots-{secrets.token_hex(4)}"
    settings = stack.settings.model_copy(update={"task_queue": queue, "worker_max_workflow_tasks": 7})
    async with build_worker(client=client, db=stack.db, settings=settings), httpx.AsyncClient() as http:

        async def workflow_slots() -> float | None:
            values = samples((await http.get(f"http://127.0.0.1:{sdk}/metrics")).text)
            labels = {"worker_type": "WorkflowWorker", "task_queue": queue}
            seen = [
                v
                for (n, ls), v in values.items()
                if n in ("temporal_worker_task_slots_available", "temporal_worker_task_slots_used")
                and set(labels.items()) <= ls
            ]
            return sum(seen) if len(seen) == 2 else None

        assert await eventually(workflow_slots) == 7
