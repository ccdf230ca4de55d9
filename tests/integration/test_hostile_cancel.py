"""Cancel by transactionId never reaches another environment's or another transaction's executions.

The attack from the audit: with environment A's key, ``DELETE /v1/events/trigger/<tx>`` where ``<tx>`` is
a Temporal visibility-query fragment. Before the fix the transactionId was pasted into the query and every
running execution of every environment was cancelled.
"""

from __future__ import annotations

from urllib.parse import quote

from temporalio.client import WorkflowExecutionStatus

from tests.support import Env, Stack, eventually
from tests.timing_support import define, in_app, in_app_contents, step
from workflows.models import execution_id

INJECTIONS = [
    'x" OR ExecutionStatus = "Running" OR WorkflowId = "',
    "x' OR ExecutionStatus = 'Running' OR WorkflowId = '",
    '" OR WorkflowType = "Notification',
    "",  # an empty prefix would match everything
]


def delayed_flow(seconds: float) -> list[dict[str, object]]:
    return [
        in_app("before", "Not delayed"),
        step("wait", "delay", type="regular", amount=seconds, unit="seconds"),
        in_app("after", "Delayed"),
    ]


async def running(env: Env, tx: str) -> bool:
    handle = env.stack.client.get_workflow_handle(execution_id(env.id, tx))
    return (await handle.describe()).status == WorkflowExecutionStatus.RUNNING


async def test_query_injection_from_another_environment_cancels_nothing(stack: Stack) -> None:
    attacker, victim = await stack.new_env("dev"), await stack.new_env("prod")
    await define(victim, "delayed", delayed_flow(3))
    for n in range(3):
        resp = await victim.trigger("delayed", f"v{n}", {}, transactionId=f"prod-{n}")
        assert resp.status_code == 201, resp.text
    for n in range(3):
        await eventually(lambda n=n: running(victim, f"prod-{n}"))  # type: ignore[misc]
    for injection in INJECTIONS:
        path = "/v1/events/trigger/" + quote(injection, safe="")
        resp = await attacker.http.delete(path)
        if injection:
            assert resp.status_code == 200, resp.text
            assert resp.json() == {"data": False}
    for n in range(3):  # every execution of the victim still runs to the end and delivers
        assert await running(victim, f"prod-{n}")
    for n in range(3):
        await victim.settle(f"prod-{n}")
        assert await in_app_contents(victim, f"v{n}") == ["Not delayed", "Delayed"]


async def test_cancelling_a_transaction_leaves_one_whose_id_extends_it(env: Env) -> None:
    await define(env, "delayed", delayed_flow(3))
    for tx, sub in (("order-1", "a"), ("order-1:42", "b"), ("order-1:cohort:0", "c")):
        assert (await env.trigger("delayed", sub, {}, transactionId=tx)).status_code == 201
        await eventually(lambda tx=tx: running(env, tx))  # type: ignore[misc]
    resp = await env.http.delete("/v1/events/trigger/order-1")
    assert resp.json() == {"data": True}
    await env.settle("order-1:42")
    await env.settle("order-1:cohort:0")
    assert await in_app_contents(env, "b") == ["Not delayed", "Delayed"]
    assert await in_app_contents(env, "c") == ["Not delayed", "Delayed"]
    assert await in_app_contents(env, "a") == ["Not delayed"]
