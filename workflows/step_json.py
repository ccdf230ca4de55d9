"""Novu's step JSON and the typed step specs, both ways: the one module that knows a ``NotificationStep``.

A Novu step is ``{_id, uuid, name, active, shouldStopOnFail, filters, variants, metadata, template}``, its
``template`` holding ``type, content, subject, title, preheader, senderName, layoutId | _layoutId,
_feedId | feedId, cta, actor, variables``; a variant is a step without ``uuid`` whose template replaces the
step's. REST workflows are stored in that shape (``store/workflow_steps.py`` normalises it on the way in);
everything that runs, lists or checks steps reads it through the functions here, and from the interpreter
on steps and variants travel typed (:class:`StepSpec`, :class:`VariantSpec`). Pure: no I/O, safe in
workflow code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from workflows.models import StepSpec, StepType, VariantSpec

#: A code workflow's variant keys → Novu's template keys (``body="…"`` is the template's ``content``).
_CODE_TEMPLATE_KEYS = {"body": "content", "sender_name": "senderName", "feed_id": "feedId"}


def _template(step: dict[str, Any]) -> dict[str, Any]:
    template = step.get("template")
    return template if isinstance(template, dict) else {}


def step_active(step: dict[str, Any]) -> bool:
    """A step (or variant) is active unless it says ``active: false``."""
    return step.get("active", True) is not False


def step_id(step: dict[str, Any], index: int) -> str:
    """The step's id: its ``uuid``, else ``_id``, else ``stepId``, else its position."""
    return str(step.get("uuid") or step.get("_id") or step.get("stepId") or f"step-{index}")


def step_type(step: dict[str, Any]) -> str | None:
    """``template.type`` (Novu's place for it), else a top-level ``type``."""
    return _template(step).get("type") or step.get("type")


def step_variables(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The payload variables the steps' templates declare (``template.variables``), those with a name."""
    return [v for s in steps for v in (_template(s).get("variables") or []) if v.get("name")]


def step_layout_id(step: dict[str, Any]) -> str | None:
    """The layout the step's template names (``layoutId``, or ``_layoutId`` as Novu stores it)."""
    template = _template(step)
    return template.get("layoutId") or template.get("_layoutId")


def step_variants(step: dict[str, Any]) -> list[VariantSpec]:
    """The step's variants, typed."""
    return [VariantSpec(**variant_fields(v)) for v in step.get("variants") or []]


def unconditioned_variants(step: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    """``(name, _id)`` of the step's variants that have no conditions (Novu refuses such a variant).
    Reads the fields untyped: a stored step is checked before anything validates its template's types."""
    fields = (variant_fields(v) for v in step.get("variants") or [])
    return [(f["name"], f["variant_id"]) for f in fields if not f["filters"]]


def step_templates(step: dict[str, Any]) -> list[dict[str, Any]]:
    """The step's template and its variants' templates (what the trigger's variables are read from)."""
    return [_template(step), *(_template(v) for v in step.get("variants") or [])]


def listed_step(step: dict[str, Any]) -> dict[str, Any]:
    """A stored step as ``GET /v1/workflows`` lists it: Novu adds ``_parentId`` to steps with a template."""
    return {**step, "_parentId": None} if "template" in step else step


def scheduled_delay_path(step: dict[str, Any]) -> str | None:
    """The payload path of a scheduled delay step's date (``metadata.delayPath``); ``None`` for other steps."""
    metadata = step.get("metadata") or {}
    if step_type(step) == "delay" and metadata.get("type") == "scheduled":
        return str(metadata.get("delayPath") or "")
    return None


def _template_fields(template: dict[str, Any]) -> dict[str, Any]:
    return {
        "content": template.get("content"),
        "subject": template.get("subject"),
        "title": template.get("title"),
        "preheader": template.get("preheader"),
        "sender_name": template.get("senderName"),
        "feed_id": template.get("_feedId") or template.get("feedId"),
        "cta": template.get("cta"),
        "actor": template.get("actor"),
    }


def variant_fields(variant: dict[str, Any]) -> dict[str, Any]:
    """Novu's variant JSON → :class:`VariantSpec` fields (also how variants recorded untyped still load)."""
    return {
        "variant_id": variant.get("_id"),
        "name": variant.get("name"),
        "active": step_active(variant),
        "filters": list(variant.get("filters") or []),
        **_template_fields(_template(variant)),
    }


def spec_from_novu(step: dict[str, Any], index: int) -> StepSpec:
    """One Novu step → a spec (its id is :func:`step_id`)."""
    template = _template(step)
    return StepSpec(
        step_id=step_id(step, index),
        type=cast(StepType, step_type(step) or "in_app"),
        name=step.get("name") or template.get("name"),
        active=step_active(step),
        should_stop_on_fail=bool(step.get("shouldStopOnFail", False)),
        filters=list(step.get("filters") or []),
        variants=step_variants(step),
        layout_id=step_layout_id(step),
        metadata=dict(step.get("metadata") or {}),
        variables=list(template.get("variables") or []),
        **_template_fields(template),
    )


def spec_to_novu(spec: StepSpec) -> dict[str, Any]:
    """A code workflow's outlined step as Novu lists it (``GET /v1/workflows``): ids are the step id."""
    return {
        "_id": spec.step_id,
        "uuid": spec.step_id,
        "stepId": spec.step_id,
        "name": spec.step_id,
        "active": True,
        "shouldStopOnFail": spec.should_stop_on_fail,
        "filters": spec.filters,
        "template": {
            "type": spec.type,
            "content": spec.content if isinstance(spec.content, str) else "",
            "subject": spec.subject,
        },
        "metadata": spec.metadata,
    }


def variant_from_code(variant: dict[str, Any], resolve: Callable[[Any], Any]) -> VariantSpec:
    """A code workflow's ``{"conditions": [...], "body": ..., "subject": ...}`` (or Novu's variant JSON)."""
    if "template" in variant:
        return VariantSpec(**variant_fields(variant))
    template = {
        _CODE_TEMPLATE_KEYS.get(k, k): resolve(v)
        for k, v in variant.items()
        if k not in ("conditions", "filters", "name")
    }
    filters = variant.get("conditions") or variant.get("filters") or []
    return VariantSpec(name=variant.get("name"), filters=list(filters), **_template_fields(template))


def with_variant(step: StepSpec, variant: VariantSpec) -> StepSpec:
    """The step with the variant's template fields in place of its own (fields the variant leaves unset stay)."""
    changes = {
        name: getattr(variant, name)
        for name in VariantSpec.TEMPLATE_FIELDS
        if getattr(variant, name) is not None
    }
    return step.model_copy(update=changes)
