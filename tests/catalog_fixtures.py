"""Code workflows and a custom-step activity used only by the engine tests.

Imported by the test modules at collection time, i.e. before the session's worker is built (the worker
registers every ``@step_activity`` when it starts). They are ``listed=False``, so other tests' environments
do not get them; :func:`add_to` lists them in one environment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from activities.custom import step_activity
from store.definitions import sync_code_definitions
from tidings.bootstrap import code_definitions
from workflows.dsl import StepBuilder, workflow

TWIN_IN_APP = "Hi {{subscriber.firstName}}, {{uppercase title}}{{#if urgent}} (urgent){{/if}}"
TWIN_SUBJECT = "{{title}} for {{subscriber.firstName}}"
TWIN_EMAIL = "<p>{{#each items}}{{@index}}:{{this.name}} {{/each}}</p>"
TWIN_CONDITIONS = [
    {
        "isNegated": False,
        "type": "GROUP",
        "value": "AND",
        "children": [{"on": "payload", "field": "title", "operator": "NOT_EQUAL", "value": "skip me"}],
    }
]


class TwinPayload(BaseModel):
    title: str
    urgent: bool = False
    items: list[dict[str, Any]] = []


@workflow("test-twin", payload=TwinPayload, name="Test twin", listed=False)
async def twin(step: StepBuilder[TwinPayload], payload: TwinPayload) -> None:
    await step.in_app("notice", body=TWIN_IN_APP, conditions=TWIN_CONDITIONS)
    await step.email("mail", subject=TWIN_SUBJECT, body=TWIN_EMAIL)


@step_activity("test-lookup-plan")
async def lookup_plan(request: dict[str, Any]) -> dict[str, Any]:
    """Stands in for a call to the author's own systems."""
    return {"tier": "pro" if request.get("user") == "vip" else "free", "seats": 5}


@step_activity("test-broken-lookup")
async def broken_lookup(request: dict[str, Any]) -> dict[str, Any]:
    raise ApplicationError("billing system unavailable", non_retryable=True)


class PlanPayload(BaseModel):
    user: str
    stop_on_fail: bool = False


@workflow("test-custom", payload=PlanPayload, name="Test custom step", listed=False)
async def custom(step: StepBuilder[PlanPayload], payload: PlanPayload) -> None:
    plan = await step.custom("plan", activity=lookup_plan, input=lambda p: {"user": p.user})
    await step.in_app(
        "plan-notice",
        body=lambda p, results: f"Your plan: {results['plan']['tier']} " + "({{ steps.plan.seats }} seats)",
    )
    await step.in_app("skipped-notice", body="never sent", skip=lambda: plan["tier"] == "pro")
    await step.custom(
        "broken", activity="test-broken-lookup", max_attempts=1, should_stop_on_fail=payload.stop_on_fail
    )
    await step.in_app("after-broken", body="after the broken step")


VIP_ONLY = [
    {
        "isNegated": False,
        "type": "GROUP",
        "value": "AND",
        "children": [{"on": "payload", "field": "user", "operator": "EQUAL", "value": "vip"}],
    }
]


@workflow("test-receipt", payload=PlanPayload, name="Test receipt in a layout", listed=False)
async def receipt(step: StepBuilder[PlanPayload], payload: PlanPayload) -> None:
    """An email whose body, preheader, variant and layout all read an earlier step's result."""
    await step.custom("plan", activity=lookup_plan, input=lambda p: {"user": p.user})
    await step.email(
        "receipt",
        subject="Your plan",
        body="<p>Plan {{ steps.plan.tier }}</p>",
        preheader="{{ steps.plan.seats }} seats included",
        variants=[{"name": "vip", "conditions": VIP_ONLY, "body": "<p>VIP plan {{ steps.plan.tier }}</p>"}],
    )


async def add_to(env: Any, *identifiers: str) -> None:
    """List fixture workflows in ``env`` (as the API does for the catalog at start-up)."""
    definitions = await code_definitions(list(identifiers))
    async with env.stack.db.session() as session:
        await sync_code_definitions(session=session, environment_id=env.id, definitions=definitions)


#: A window that is not open today nor tomorrow (used by the send-window tests with code workflows).
CODE_WINDOW: dict[str, Any] = {
    "start": "00:00",
    "end": "23:59",
    "days": [(datetime.now(UTC) + timedelta(days=3)).strftime("%a")[:2].upper()],
}


@workflow("test-windowed", name="Test send window", listed=False)
async def windowed(step: StepBuilder[Any], payload: Any) -> None:
    await step.in_app("now", body="Right away")
    await step.in_app("later", body="In the window", send_window=CODE_WINDOW)
