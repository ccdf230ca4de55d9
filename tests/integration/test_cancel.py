"""``DELETE /v1/events/trigger/{transactionId}``: pending delays and digest events are cancelled."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError

from tests.support import Env, eventually
from tests.timing_support import define, details, digest, in_app, in_app_contents, settle_digests, step
from workflows.models import execution_id


async def cancel(env: Env, tx: str) -> bool:
    resp = await env.http.delete(f"/v1/events/trigger/{tx}")
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]  # type: ignore[no-any-return]


async def test_cancel_pending_delay(env: Env) -> None:
    await define(
        env,
        "delayed",
        [
            in_app("before", "Not delayed"),
            step("wait", "delay", type="regular", amount=30, unit="seconds"),
            in_app("after", "Delayed"),
        ],
    )
    assert (await env.trigger("delayed", "dan", {}, transactionId="cd-1")).status_code == 201

    async def first() -> list[str] | None:
        found = await in_app_contents(env, "dan")
        return found or None

    assert await eventually(first) == ["Not delayed"]
    await eventually(lambda: _has(env, "cd-1", "Step delayed"))
    assert await cancel(env, "cd-1") is True
    with pytest.raises(WorkflowFailureError):
        await env.settle("cd-1")
    handle = env.stack.client.get_workflow_handle(execution_id(env.id, "cd-1"))
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    assert await in_app_contents(env, "dan") == ["Not delayed"]
    assert await cancel(env, "cd-1") is False


async def _has(env: Env, tx: str, text: str) -> bool:
    return text in await details(env, tx)


async def test_cancel_nothing_pending(env: Env) -> None:
    await define(env, "plain", [in_app("only", "hello")])
    assert await cancel(env, "never-triggered") is False
    await env.trigger("plain", "pat", {}, transactionId="cp-1")
    await env.settle("cp-1")
    assert await cancel(env, "cp-1") is False


@pytest.mark.parametrize("cancelled", [[0], [2], [4], [0, 2, 4]])
async def test_cancel_digest_events(env: Env, cancelled: list[int]) -> None:
    await define(
        env,
        "digest-cancel",
        [digest(amount=4), in_app("after", "{% for e in step.events %}{{ e.n }}{% endfor %}")],
    )
    for i in range(5):  # in order, so the first event is the one that opened the window
        resp = await env.trigger("digest-cancel", "cat", {"n": i}, transactionId=f"dc-{i}")
        assert resp.status_code == 201
        await env.settle(f"dc-{i}")
    assert [await cancel(env, f"dc-{i}") for i in cancelled] == [True] * len(cancelled)

    async def sent() -> list[str] | None:
        return await in_app_contents(env, "cat") or None

    expected = "".join(str(i) for i in range(5) if i not in cancelled)
    assert await eventually(sent, timeout=30) == [expected]
    await settle_digests(env)
    assert await in_app_contents(env, "cat") == [expected]
    assert await cancel(env, "dc-1") is False  # already sent: nothing pending any more
