"""Novu's step JSON has one home (workflows/step_json.py); steps and variants travel typed (issue #16 item 2)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from temporalio.contrib.pydantic import pydantic_data_converter

from store.models import WorkflowDefinition
from store.preferences import workflow_channels
from workflows.models import DeliverInput, DeliveryContext, StepSpec, VariantSpec, WorkflowSnapshot
from workflows.step_json import (
    listed_step,
    scheduled_delay_path,
    spec_from_novu,
    spec_to_novu,
    step_active,
    step_layout_id,
    step_templates,
    step_type,
    step_variables,
    unconditioned_variants,
    variant_from_code,
    with_variant,
)

ROOT = Path(__file__).resolve().parents[2]
GERMAN = [{"on": "subscriber", "field": "locale", "operator": "EQUAL", "value": "de"}]
REST_STEP: dict[str, Any] = {
    "_id": "row-1",
    "uuid": "welcome-sms",
    "name": "Welcome",
    "filters": [],
    "variants": [
        {"_id": "var-1", "name": "de", "filters": GERMAN, "template": {"type": "sms", "content": "Hallo"}},
        {"_id": "var-2", "name": "off", "active": False, "filters": GERMAN, "template": {"content": "x"}},
    ],
    "template": {
        "type": "sms",
        "content": "Hello {{name}}",
        "variables": [{"name": "name", "required": True}, {"type": "String"}],
    },
}


def test_rest_and_code_variants_become_the_same_typed_variant() -> None:
    spec = spec_from_novu(REST_STEP, 0)
    assert spec.step_id == "welcome-sms" and spec.type == "sms" and spec.content == "Hello {{name}}"
    german, off = spec.variants
    assert german == VariantSpec(variant_id="var-1", name="de", filters=GERMAN, content="Hallo")
    assert off.active is False
    code = variant_from_code({"name": "de", "conditions": GERMAN, "body": "Hallo"}, lambda v: v)
    assert code == german.model_copy(update={"variant_id": None})


def test_a_variant_replaces_only_the_template_fields_it_sets() -> None:
    step = StepSpec(step_id="mail", type="email", content="Hi", subject="Welcome", preheader="Read me")
    chosen = with_variant(step, VariantSpec(filters=GERMAN, content="Hallo", subject="Willkommen"))
    assert (chosen.content, chosen.subject, chosen.preheader) == ("Hallo", "Willkommen", "Read me")
    assert chosen.variants == [] and step.content == "Hi"


def test_activity_inputs_scheduled_with_untyped_variants_still_load() -> None:
    """Before variants were typed, activity inputs carried Novu's variant JSON; a retry after the upgrade
    must read it as the same variant."""
    recorded = StepSpec.model_validate(
        {"step_id": "welcome-sms", "type": "sms", "variants": REST_STEP["variants"]}
    )
    assert recorded.variants == spec_from_novu(REST_STEP, 0).variants
    convert = pydantic_data_converter.payload_converter
    (payload,) = convert.to_payloads([recorded])
    (loaded,) = convert.from_payloads([payload], [StepSpec])
    assert loaded == recorded


def test_readers_of_stored_steps() -> None:
    assert step_type(REST_STEP) == "sms" and step_type({"type": "push"}) == "push"
    assert step_variables([REST_STEP]) == [{"name": "name", "required": True}]
    delay = {"template": {"type": "delay"}, "metadata": {"type": "scheduled", "delayPath": "sendAt"}}
    assert scheduled_delay_path(delay) == "sendAt" and scheduled_delay_path(REST_STEP) is None
    listed = spec_to_novu(spec_from_novu(REST_STEP, 0))
    assert listed["uuid"] == "welcome-sms" and step_type(listed) == "sms"


def step_json_reads(path: Path) -> list[int]:
    """Lines reading a step's ``template`` or ``variants`` (``x.get("template")``, ``x["variants"]``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            key = node.args[0] if node.args else None
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            key = node.slice
        else:
            continue
        if isinstance(key, ast.Constant) and key.value in STEP_KEYS:
            found.append(node.lineno)
    return found


STEP_KEYS = ("template", "variants")
#: The one reader, and the normaliser that writes the stored shape (store/workflow_steps.py).
STEP_JSON_HOMES = ("workflows/step_json.py", "store/workflow_steps.py")


def test_only_step_json_reads_a_steps_template_or_variants() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for top in ("api", "activities", "store", "tidings", "workflows")
        for path in sorted((ROOT / top).rglob("*.py"))
        if str(path.relative_to(ROOT)) not in STEP_JSON_HOMES
        for line in step_json_reads(path)
    ]
    assert found == []


def test_store_readers_of_steps_go_through_step_json() -> None:
    """Layouts in use, a workflow's channels and the variant check read steps the interpreter's way."""
    assert step_active(REST_STEP) and not step_active({"active": False})
    assert step_layout_id({"template": {"_layoutId": "L"}}) == "L"
    assert unconditioned_variants(REST_STEP) == []
    loose = {"variants": [{"_id": "v", "name": "all", "filters": [], "template": {"subject": 1}}]}
    assert unconditioned_variants(loose) == [("all", "v")]
    assert step_templates(REST_STEP)[1:] == [v["template"] for v in REST_STEP["variants"]]
    assert listed_step(REST_STEP)["_parentId"] is None and "_parentId" not in listed_step({"type": "x"})
    channels = [{"template": {"type": "sms"}}, {"type": "email", "active": False}, {"type": "sms"}]
    definition = WorkflowDefinition(environment_id="e", name="n", trigger_identifier="n", steps=channels)
    assert workflow_channels(definition) == ["sms"]


def test_a_step_activity_gets_its_step_not_the_definitions_step_list() -> None:
    steps = [{**REST_STEP, "uuid": f"s{n}"} for n in range(5)]
    ctx = DeliveryContext(
        environment_id="env",
        organization_id="org",
        transaction_id="tx",
        workflow=WorkflowSnapshot(id="wf", identifier="welcome", name="Welcome", tags=["t"], steps=steps),
        payload={"name": "Ada"},
    )
    lean = ctx.for_step_activity()
    assert lean.workflow.steps == [] and len(ctx.workflow.steps) == 5  # the workflow keeps its list
    assert lean.model_dump(exclude={"workflow"}) == ctx.model_dump(exclude={"workflow"})
    assert lean.workflow.model_dump(exclude={"steps"}) == ctx.workflow.model_dump(exclude={"steps"})
    full = DeliverInput(context=ctx, step=spec_from_novu(steps[0], 0), subscriber_ids=["a"])
    lean_input = full.model_copy(update={"context": lean})
    assert len(lean_input.model_dump_json()) < len(full.model_dump_json()) / 2
