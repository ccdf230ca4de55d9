"""Template rendering in Jinja2's sandbox: user templates can read their context and nothing else."""

from __future__ import annotations

from typing import Any

from jinja2 import ChainableUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment


class RenderError(Exception):
    """A template that cannot be rendered (syntax error, unsafe access, failing filter)."""


class Renderer:
    """Compiles templates once (cached by source) and renders them with Novu's context."""

    def __init__(self) -> None:
        self._escaping = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=True)
        self._plain = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False)

    def render(self, source: str, context: dict[str, Any], *, escape: bool = True) -> str:
        env = self._escaping if escape else self._plain
        try:
            return env.from_string(source).render(context)
        except TemplateError as exc:
            raise RenderError(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            raise RenderError(f"{type(exc).__name__}: {exc}") from exc

    def render_value(self, value: Any, context: dict[str, Any], *, escape: bool = True) -> Any:
        """Render strings, and strings nested in dicts/lists (CTA buttons, push data)."""
        if isinstance(value, str):
            return self.render(value, context, escape=escape)
        if isinstance(value, dict):
            return {k: self.render_value(v, context, escape=escape) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render_value(v, context, escape=escape) for v in value]
        return value


def template_context(
    *,
    payload: dict[str, Any],
    subscriber: dict[str, Any],
    actor: dict[str, Any] | None,
    tenant: dict[str, Any] | None,
    digest: dict[str, Any] | None,
    branding: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Novu's compile context: payload fields at top level *and* under ``payload``, plus the rest."""
    events = list((digest or {}).get("events") or [])
    context: dict[str, Any] = dict(payload)
    context.update(
        payload=payload,
        subscriber=subscriber,
        step={"digest": bool(events), "events": events, "total_count": len(events)},
        branding={"logo": None, "color": "#f47373", **(branding or {})},
    )
    if actor is not None:
        context["actor"] = actor
    if tenant is not None:
        context["tenant"] = tenant
    return context
