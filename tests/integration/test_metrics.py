"""Prometheus metrics: the API's ``GET /metrics`` and the worker's metrics ports, parsed as Prometheus
text after real triggers."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support import Env, eventually
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
