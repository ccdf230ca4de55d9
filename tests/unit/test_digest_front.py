"""Which triggers the API hands straight to their digest (api/digest_front.py), and which keep the
execution path because the front door could not place them exactly."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from api.digest_front import plan
from store.digests import accumulator_id, subscriber_key
from workflows.models import DeliveryContext, WorkflowSnapshot


def step(step_id: str, type_: str, **extra: Any) -> dict[str, Any]:
    metadata = {"type": "regular", "amount": 5, "unit": "minutes"} if type_ == "digest" else {}
    return {"_id": step_id, "template": {"type": type_, "content": "x"}, "metadata": metadata, **extra}


def context(steps: list[dict[str, Any]], *, origin: str = "rest", payload: Any = None) -> DeliveryContext:
    return DeliveryContext(
        environment_id="env",
        organization_id="org",
        transaction_id="tx",
        workflow=WorkflowSnapshot(id="wf", identifier="w", name="w", origin=origin, steps=steps),  # type: ignore[arg-type]
        payload=payload or {},
    )


DIGEST_FIRST = [step("d", "digest"), step("m", "in_app")]


def test_digest_first_single_subscriber_goes_to_its_accumulator() -> None:
    front = plan(
        context(DIGEST_FIRST, payload={"post": 7}), [{"subscriberId": "ada", "email": None}], broadcast=False
    )
    assert front is not None
    assert front.step_id == "d" and front.subscriber_id == "ada"
    assert front.accumulator_id == accumulator_id(
        environment_id="env",
        definition_id="wf",
        step_id="d",
        subscriber_id=subscriber_key("ada"),
        key_value=None,
    )
    assert front.signal.event is not None and front.signal.event.recipient == {"subscriberId": "ada"}
    assert front.signal.window_end - front.signal.event.at == timedelta(minutes=5)


def test_inactive_steps_before_the_digest_are_skipped() -> None:
    steps = [step("m0", "in_app", active=False), *DIGEST_FIRST]
    assert plan(context(steps), ["ada"], broadcast=False) is not None


def test_digest_key_value_picks_the_accumulator() -> None:
    steps = [step("d", "digest"), step("m", "in_app")]
    steps[0]["metadata"]["digestKey"] = "post"
    a = plan(context(steps, payload={"post": 1}), ["ada"], broadcast=False)
    b = plan(context(steps, payload={"post": 2}), ["ada"], broadcast=False)
    assert a is not None and b is not None and a.accumulator_id != b.accumulator_id


@pytest.mark.parametrize(
    ("steps", "to", "origin", "broadcast"),
    [
        ([step("m0", "in_app"), *DIGEST_FIRST], ["ada"], "rest", False),  # an active step first
        ([step("d", "digest", filters=[{"children": []}]), step("m", "in_app")], ["ada"], "rest", False),
        ([{**step("d", "digest"), "metadata": {"type": "timed", "timed": {}}}], ["ada"], "rest", False),
        ([{**step("d", "digest"), "metadata": {"type": "backoff", "amount": 1}}], ["ada"], "rest", False),
        ([{**step("d", "digest"), "metadata": {"amount": -1, "unit": "seconds"}}], ["ada"], "rest", False),
        (DIGEST_FIRST, ["ada", "bo"], "rest", False),  # one signal per recipient would be two calls
        (DIGEST_FIRST, [{"type": "Topic", "topicKey": "news"}], "rest", False),
        (DIGEST_FIRST, [{"email": "no-id@x"}], "rest", False),  # reported by the execution path
        (DIGEST_FIRST, ["ada"], "code", False),  # code workflows: only the worker knows the first step
        (DIGEST_FIRST, [], "rest", True),
    ],
)
def test_other_shapes_keep_the_execution_path(
    steps: list[dict[str, Any]], to: list[Any], origin: str, broadcast: bool
) -> None:
    assert plan(context(steps, origin=origin), to, broadcast=broadcast) is None
