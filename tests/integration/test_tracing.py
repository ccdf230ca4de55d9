"""One trace from ``POST /v1/events/trigger`` through the Temporal workflow and its activity to the
provider call, collected with an in-memory span exporter."""

from __future__ import annotations

import secrets

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from store.db import Database
from tests.support import Mailbox, Stack, make_settings
from tidings import tracing
from tidings.temporal import connect
from worker import build_worker

EMAIL = {
    "name": "Traced",
    "notificationGroup": {"name": "General"},
    "active": True,
    "steps": [{"template": {"type": "email", "subject": "Hi", "content": "<p>Hi</p>"}}],
}


async def test_trigger_workflow_activity_and_provider_share_a_trace(
    pg_url: str,
    temporal_address: str,
    temporal_env: WorkflowEnvironment,
    mailbox: Mailbox,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)

    client = await connect(temporal_address, "default", interceptors=tracing.temporal_interceptors(True))
    settings = make_settings(
        database_url=pg_url,
        task_queue=f"tidings-test-traced-{secrets.token_hex(3)}",
        smtp_port=mailbox.port,
        data_dir=str(tmp_path_factory.mktemp("traced")),
    )
    db = Database(pg_url)
    app = create_app(settings, db=db, temporal=client)
    tracing.instrument_api(app)
    worker = build_worker(client=client, db=db, settings=settings)
    async with app.router.lifespan_context(app), worker:
        stack = Stack(
            name="traced", db=db, client=client, settings=settings, app=app, worker=worker, mailbox=mailbox
        )
        env = await stack.new_env()
        wf = (await env.http.post("/v1/workflows", json=EMAIL)).json()["data"]
        resp = await env.trigger(
            wf["triggers"][0]["identifier"], {"subscriberId": "t1", "email": "t1@example.com"}
        )
        assert resp.status_code == 201, resp.text
        await env.settle(resp.json()["data"]["transactionId"])
        await stack.truncate()
        await stack.close_clients()
    await db.dispose()

    spans = exporter.get_finished_spans()
    by_name = {s.name: s for s in spans}
    root = next(s for s in spans if s.name == "POST /v1/events/trigger" and s.parent is None)
    trace_id = root.context.trace_id
    start = next(s for s in spans if s.name.startswith("StartWorkflow:"))
    run = next(s for s in spans if s.name.startswith("RunWorkflow:"))
    activity = next(s for s in spans if s.name == "RunActivity:deliver_step")
    sent = next(s for s in spans if s.name.startswith("provider "))
    assert {
        start.context.trace_id,
        run.context.trace_id,
        activity.context.trace_id,
        sent.context.trace_id,
    } == {trace_id}, sorted(by_name)
    assert sent.parent is not None and sent.parent.span_id == activity.context.span_id
