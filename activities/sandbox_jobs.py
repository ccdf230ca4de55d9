"""What a sandbox child does with one item of a job: pure functions over JSON, no I/O.

Each job kind is ``(prepare, handle)``: ``prepare(shared)`` builds what the whole cohort shares once per
call, ``handle(state, item)`` works on one subscriber and returns a JSON value. The Jinja environment is
immutable (:class:`activities.render.Renderer`), so a template cannot change data other items share.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypedDict

from markupsafe import Markup

from activities.conditions import SubscriberFacts, evaluate_filters
from activities.render import Renderer, RenderError, template_context
from activities.translations import Translator, translate_step
from workflows.models import StepSpec
from workflows.step_json import with_variant

_RENDERER = Renderer()


def blocks_html(blocks: list[Any]) -> str:
    """Novu's email editor blocks → HTML (text paragraphs and buttons)."""
    parts = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        content = str(block.get("content") or "")
        align = (block.get("styles") or {}).get("textAlign")
        style = f' style="text-align:{html.escape(str(align))}"' if align else ""
        if block.get("type") == "button":
            url = html.escape(str(block.get("url") or "#"), quote=True)
            parts.append(f'<p{style}><a href="{url}">{content}</a></p>')
        else:
            parts.append(f"<p{style}>{content}</p>")
    return "".join(parts)


def facts_from(shared: dict[str, Any], item: dict[str, Any]) -> SubscriberFacts:
    """The filter facts of one subscriber, from what the parent sent."""
    facts = item.get("facts") or {}
    last = facts.get("last_online_at")
    return SubscriberFacts(
        variables={
            "payload": shared.get("payload") or {},
            "subscriber": item.get("subscriber") or {},
            "tenant": shared.get("tenant"),
            "actor": shared.get("actor"),
        },
        is_online=facts.get("is_online"),
        last_online_at=datetime.fromisoformat(last) if last else None,
        step_messages=facts.get("step_messages") or {},
        now=datetime.fromisoformat(shared["now"]),
    )


class RenderedFields(TypedDict):
    """A channel step's template fields rendered for one subscriber: what :class:`Rendered` is built from."""

    content: Any
    subject: str | None
    title: str | None
    cta: Any
    avatar: str | None
    data: Any
    preheader: str | None
    sender_name: str | None


def render_step(step: StepSpec, context: dict[str, Any]) -> RenderedFields:
    """Every template field of a channel step, rendered for one subscriber with one context."""
    escape = step.type in ("in_app", "email")
    render = _RENDERER.render_value
    content: Any = step.content or ""
    if isinstance(content, list):
        content = blocks_html(render(content, context, escape=escape))
    else:
        content = render(content, context, escape=escape)

    def plain(value: Any) -> Any:
        return render(value, context, escape=False) if value else None

    return RenderedFields(
        content=content,
        subject=plain(step.subject),
        title=plain(step.title),
        cta=plain(step.cta),
        avatar=plain(step.avatar),
        data=plain(step.data),
        preheader=plain(step.preheader),
        sender_name=plain(step.sender_name),
    )


# --- "step": a channel step for a cohort: filters, preferences (decided by the parent), variant, render ----


def prepare_step(shared: dict[str, Any]) -> dict[str, Any]:
    translations = shared.get("translations")
    translator = (
        Translator(translations["by_locale"], translations["default_locale"]) if translations else None
    )
    return {**shared, "spec": StepSpec.model_validate(shared["step"]), "translator": translator}


def handle_step(state: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """``{"filtered": conditions}`` | ``{"blocked": true}`` | ``{"variant"?, "rendered" | "render_error"}``."""
    step: StepSpec = state["spec"]
    facts = facts_from(state, item)
    outcome = evaluate_filters(step.filters, facts)
    if not outcome.passed:
        return {"filtered": outcome.conditions}
    if item.get("blocked"):
        return {"blocked": True}
    result: dict[str, Any] = {}
    chosen = step
    for index, variant in enumerate(step.variants):
        if not variant.active or not variant.filters:
            continue
        if evaluate_filters(variant.filters, facts).passed:
            chosen = with_variant(step, variant)
            result["variant"] = variant.variant_id or variant.name or index
            break
    translator: Translator | None = state.get("translator")
    if translator is not None:
        # ``{{ t.key }}`` replaced for the subscriber's locale before rendering (activities/translations.py).
        chosen, missing = translate_step(chosen, translator, item.get("locale"))
        if missing:
            result["missing"] = missing
    context = template_context(
        payload=state.get("payload") or {},
        subscriber=item.get("subscriber") or {},
        actor=state.get("actor"),
        tenant=state.get("tenant"),
        digest=state.get("digest"),
        results=state.get("results"),
    )
    try:
        result["rendered"] = render_step(chosen, context)
    except RenderError as exc:
        result["render_error"] = str(exc)
    return result


# --- "conditions": an action step's filters for a cohort -------------------------------------------------


def prepare_conditions(shared: dict[str, Any]) -> dict[str, Any]:
    return shared


def handle_conditions(state: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    outcome = evaluate_filters(state.get("filters"), facts_from(state, item))
    return {"passed": outcome.passed, "conditions": outcome.conditions}


# --- "layout": an email layout around each subscriber's rendered content ---------------------------------


def prepare_layout(shared: dict[str, Any]) -> dict[str, Any]:
    return shared


def handle_layout(state: dict[str, Any], item: dict[str, Any]) -> str:
    context = template_context(
        payload=state.get("payload") or {},
        subscriber=item.get("subscriber") or {},
        actor=state.get("actor"),
        tenant=state.get("tenant"),
        digest=state.get("digest"),
        results=state.get("results"),
    )
    # ``{{{body}}}`` (Handlebars) reads unescaped; ``body`` is the already-escaped content, so Markup.
    context.update(
        body=Markup(item.get("body") or ""),
        preheader=item.get("preheader") or "",
        subject=item.get("subject") or "",
    )
    # A translated layout comes per subscriber locale (activities/translations.py), else the shared source.
    return _RENDERER.render(item.get("source") or state["source"], context)


JOBS: dict[str, tuple[Callable[[dict[str, Any]], Any], Callable[[Any, dict[str, Any]], Any]]] = {
    "step": (prepare_step, handle_step),
    "conditions": (prepare_conditions, handle_conditions),
    "layout": (prepare_layout, handle_layout),
}
