"""Tenant templates and filters are bounded work off the worker's event loop (issue 13, rows 2 and 13).

The attacks from the audit: a 3-deep loop over a 600-item payload list, ``lipsum(40000)``,
``'%0200000000d' % 1`` (+190 MB), a ``LIKE`` filter ``%a%a%a%a%b`` on a long string, and
``{{ payload.clear() }}`` emptying what the cohort's other subscribers read. Before the fix each ran on the
worker's event loop without a bound (and the in-app step retried a long render for minutes).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus

from activities.conditions import compare
from activities.sandbox import Budget, SandboxPool
from tests.support import Env, Stack
from tests.timing_support import define, in_app, in_app_contents
from workflows.models import StepSpec, execution_id

LOOP_BOMB = (
    "{% for a in items %}{% for b in items %}{% for c in items %}.{% endfor %}{% endfor %}{% endfor %}"
)
# The same loops writing nothing: only time grows, so the time budget is what stops it on any machine
# (LOOP_BOMB's output list can reach the memory budget first on a fast CPU).
SPIN_BOMB = "{% for a in items %}{% for b in items %}{% for c in items %}{% endfor %}{% endfor %}{% endfor %}"
LIPSUM_BOMB = "{{ lipsum(40000) }}"
FORMAT_BOMB = "{{ '%0200000000d' % 1 }}"
ITEMS = list(range(600))


def step_job(content: str, filters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec = StepSpec(step_id="s", type="in_app", content=content, filters=filters or [])
    return {
        "step": spec.model_dump(mode="json"),
        "payload": {"items": ITEMS, "name": "Ada"},
        "tenant": None,
        "actor": None,
        "now": "2026-01-01T00:00:00+00:00",
        "digest": None,
        "results": {},
    }


def item(sid: str) -> dict[str, Any]:
    return {"subscriber": {"subscriberId": sid}, "facts": {}, "blocked": False}


@pytest.fixture
async def pool() -> Any:
    sandbox = SandboxPool(Budget(item_seconds=0.5, call_seconds=10, memory_mb=128, processes=2))
    yield sandbox
    await sandbox.close()


@pytest.mark.parametrize(
    ("template", "reason"),
    [(SPIN_BOMB, "time budget"), (LIPSUM_BOMB, "lipsum is limited"), (FORMAT_BOMB, "memory budget")],
)
async def test_a_bomb_fails_its_subscriber_and_the_next_one_renders(
    pool: SandboxPool, template: str, reason: str
) -> None:
    job = step_job(f"{{% if subscriber.subscriberId == 'bomb' %}}{template}{{% endif %}}Hi {{{{ name }}}}")
    results = await pool.run("step", job, [item("bomb"), item("ok")], tenant="t")
    assert reason in results[0].get("error", "") + results[0].get("ok", {}).get("render_error", "")
    assert results[1] == {"ok": {"rendered": results[1]["ok"]["rendered"]}}
    assert results[1]["ok"]["rendered"]["content"] == "Hi Ada"


async def test_a_step_has_a_total_budget(pool: SandboxPool) -> None:
    """Twenty-five half-second bombs do not add up past the step's budget: the rest fail unrun."""
    small = SandboxPool(Budget(item_seconds=0.5, call_seconds=2, memory_mb=128, processes=2))
    try:
        results = await small.run("step", step_job(SPIN_BOMB), [item(f"s{i}") for i in range(25)], tenant="t")
    finally:
        await small.close()
    reasons = [r["error"] for r in results]
    assert any("time budget of 0.5s" in r for r in reasons)
    assert any("render budget of 2s was spent" in r for r in reasons)


async def test_output_is_capped(pool: SandboxPool) -> None:
    job = step_job("{% for i in range(100) %}{{ big }}{% endfor %}")
    job["payload"]["big"] = "x" * 20_000
    results = await pool.run("step", job, [item("a")], tenant="t")
    assert "longer than 1000000 characters" in results[0]["ok"]["render_error"]


async def test_like_is_linear(pool: SandboxPool) -> None:
    """Backtracking regex: minutes for this pattern. Linear matching: far inside a half-second budget."""
    filters = [{"children": [{"on": "payload", "field": "text", "operator": "LIKE", "value": "%a%a%a%a%b"}]}]
    job = step_job("x", filters)
    job["payload"]["text"] = "a" * 20_000
    results = await pool.run("conditions", {**job, "filters": filters}, [item("a")], tenant="t")
    assert results == [{"ok": {"passed": False, "conditions": results[0]["ok"]["conditions"]}}]
    assert compare("LIKE", "xaxaxaxab", "%a%a%a%a%b") and not compare("LIKE", "a" * 50, "%a%a%a%a%b")


async def test_the_sandbox_cannot_change_what_other_subscribers_read(env: Env) -> None:
    """``{{ payload.clear() }}`` for one subscriber must not empty the payload the next one renders."""
    await define(
        env,
        "mutate",
        [
            in_app(
                "only",
                "{% if subscriber.subscriberId == 'first' %}{{ payload.clear() }}{{ payload.update(x=1) }}"
                "{% endif %}Hi {{ payload.name }}",
            )
        ],
    )
    resp = await env.trigger("mutate", ["first", "second"], {"name": "Ada"}, transactionId="mut-1")
    assert resp.status_code == 201, resp.text
    await env.settle("mut-1")
    assert await in_app_contents(env, "second") == ["Hi Ada"]
    assert await in_app_contents(env, "first") == []
    rows = await env.sql(
        "select d.status, d.raw from execution_details d join subscribers s on s.id = d.subscriber_id "
        "where d.environment_id = :e and s.subscriber_id = 'first' and d.detail = :t",
        e=env.id,
        t="Message content could not be generated",
    )
    assert rows and rows[0][0] == "Failed" and "SecurityError" in json.dumps(rows[0][1])


async def test_another_tenants_trigger_is_delivered_while_a_bomb_renders(stack: Stack) -> None:
    """Tenant A's cohort of ten 3-deep loops over 600 items (seconds each, unbounded before) is still
    rendering when tenant B's ordinary trigger, sent after it, has been delivered; then A's step ends as a
    failed step per subscriber, recorded once each (no retries), with the reason."""
    bomber, neighbour = await stack.new_env("bomber"), await stack.new_env("neighbour")
    await define(bomber, "bomb", [in_app("only", LOOP_BOMB)])
    await define(neighbour, "hello", [in_app("only", "Hello {{ name }}")])
    victims = [f"v{i}" for i in range(10)]
    assert (
        await bomber.trigger("bomb", victims, {"items": ITEMS}, transactionId="bomb-1")
    ).status_code == 201
    assert (
        await neighbour.trigger("hello", "nora", {"name": "Nora"}, transactionId="hello-1")
    ).status_code == 201
    await neighbour.settle("hello-1")
    assert await in_app_contents(neighbour, "nora") == ["Hello Nora"]
    bomb = stack.client.get_workflow_handle(execution_id(bomber.id, "bomb-1"))
    assert (await bomb.describe()).status == WorkflowExecutionStatus.RUNNING  # still rendering
    await bomber.settle("bomb-1", timeout=60)
    rows = await bomber.sql(
        "select status, raw from execution_details where environment_id = :e and detail = :t",
        e=bomber.id,
        t="Message content could not be generated",
    )
    assert len(rows) == len(victims)  # one failure per subscriber: the step was not retried
    assert all(r[0] == "Failed" and "budget" in json.dumps(r[1]) for r in rows), rows  # time or memory
    for v in victims:
        assert await in_app_contents(bomber, v) == []


async def test_an_action_step_filter_over_budget_fails_for_the_subscriber(env: Env) -> None:
    """``ALL_IN`` of a 20,000-item payload list against 20,000 expected values is 4·10⁸ comparisons —
    minutes on the worker's event loop before (and the local activity retried after each timeout). Now the
    filter runs out of its budget in the sandbox: recorded as a failed filter, and the step is skipped."""
    big = list(range(20_000))
    condition = {"on": "payload", "field": "ids", "operator": "ALL_IN", "value": [-1, *big[1:]]}
    delay = {
        "_id": "wait",
        "uuid": "wait",
        "active": True,
        "template": {"type": "delay", "content": ""},
        "metadata": {"type": "regular", "amount": 30, "unit": "seconds"},
        "filters": [{"children": [condition]}],
    }
    await define(env, "filtered-delay", [delay, in_app("after", "Done")])
    resp = await env.trigger("filtered-delay", "fay", {"ids": big}, transactionId="fd-1")
    assert resp.status_code == 201, resp.text
    await env.settle("fd-1", timeout=60)
    rows = await env.sql(
        "select status, raw from execution_details where environment_id = :e and detail = :t",
        e=env.id,
        t="Step filters could not be evaluated",
    )
    assert len(rows) == 1 and rows[0][0] == "Failed" and "time budget" in json.dumps(rows[0][1])
    assert await in_app_contents(env, "fay") == ["Done"]  # the delay was filtered out, the rest ran
