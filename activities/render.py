"""Template rendering in Jinja2's sandbox: user templates can read their context and nothing else.

Jinja templates render as written; Handlebars templates copied from Novu are first translated
(:mod:`activities.handlebars`). Novu's helpers are Jinja globals *and* filters, so
``{{uppercase name}}`` (Handlebars) and ``{{ name|uppercase }}`` (Jinja) both work.
A template that fails, or reaches for internals (``__class__``, ``mro`` …), raises :class:`RenderError`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from jinja2 import ChainableUndefined, Template, nodes, pass_context
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum

from activities import template_helpers as helpers
from activities.handlebars import to_jinja

MAX_OUTPUT = 1_000_000  # characters per rendered value
MAX_RANGE = 100
MAX_LOOP_DEPTH = 3  # with MAX_RANGE, a template's own loops stay under a million iterations
MAX_REPEAT = 100_000  # longest string/list a template may build with ``*``
MAX_LIPSUM = 100  # paragraphs ``lipsum()`` may produce
UNSAFE_ATTRIBUTES = frozenset({"mro", "format_map", "gi_frame", "cr_frame", "f_globals", "tb_frame"})


class RenderError(Exception):
    """A template that cannot be rendered (syntax error, unsafe access, failing helper)."""


def _root(context: Context) -> dict[str, Any]:
    return dict(context.get_all())


def _each(value: Any) -> list[tuple[Any, Any]]:
    """What ``{{#each}}`` iterates: list items with their index, or object values with their key."""
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, list | tuple):
        return list(enumerate(value))
    return []


def _loop_depth(node: nodes.Node) -> int:
    """How deeply ``for`` loops nest in a parsed template."""
    inner = max((_loop_depth(child) for child in node.iter_child_nodes()), default=0)
    return inner + 1 if isinstance(node, nodes.For) else inner


def _blank_none(value: Any) -> Any:
    return "" if value is None else value


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> Any:
    if n > MAX_LIPSUM or max > 1000:
        raise SecurityError(f"lipsum is limited to {MAX_LIPSUM} paragraphs of 1000 words")
    return generate_lorem_ipsum(n=n, html=html, min=min, max=max)


def _range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise SecurityError(f"range is limited to {MAX_RANGE} items")
    return r


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox (``{{ payload.clear() }}`` cannot change data other subscribers share),
    plus: object keys win over method names, unsafe access raises, no huge values.

    Time and memory are bounded by the process that renders (:mod:`activities.sandbox`), not here.
    """

    intercepted_binops = frozenset({"*", "**"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return attr not in UNSAFE_ATTRIBUTES and super().is_safe_attribute(obj, attr, value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]  # payload keys named "items" or "keys" are data, not methods
        if attribute == "length" and isinstance(obj, list | tuple | str):
            return len(obj)  # Handlebars templates read JavaScript's ``.length``
        return super().getattr(obj, attribute)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} is not allowed")

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > 64:
                raise SecurityError("exponent too large")
            return left**right
        sized = [v for v in (left, right) if isinstance(v, str | list | tuple)]
        counts = [v for v in (left, right) if isinstance(v, int) and not isinstance(v, bool)]
        if sized and counts and len(sized[0]) * counts[0] > MAX_REPEAT:
            raise SecurityError("result too large")
        return left * right


def _make_env(autoescape: bool) -> _Sandbox:
    # ``finalize``: null renders as nothing, as in Handlebars (Jinja would print "None").
    env = _Sandbox(undefined=ChainableUndefined, autoescape=autoescape, finalize=_blank_none)
    for name, fn in helpers.HELPERS.items():
        env.globals[name] = fn
        env.filters[name] = fn
    env.globals.update(range=_range, lipsum=_lipsum, _hb_each=_each, _hb_root=pass_context(_root))
    return env


class Renderer:
    """Compiles templates once (cached by source) and renders them with Novu's context."""

    def __init__(self, cache_size: int = 512) -> None:
        self._envs = {True: _make_env(True), False: _make_env(False)}
        self._cache: OrderedDict[tuple[bool, str], Template] = OrderedDict()
        self._cache_size = cache_size

    def compile(self, source: str, *, escape: bool) -> Template:
        key = (escape, source)
        template = self._cache.get(key)
        if template is None:
            env = self._envs[escape]
            jinja_source = to_jinja(source)
            if _loop_depth(env.parse(jinja_source)) > MAX_LOOP_DEPTH:
                raise SecurityError(f"loops may be nested at most {MAX_LOOP_DEPTH} deep")
            template = env.from_string(jinja_source)
            self._cache[key] = template
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return template

    def render(self, source: str, context: dict[str, Any], *, escape: bool = True) -> str:
        try:
            output = self.compile(source, escape=escape).render(context)
        except MemoryError as exc:  # the sandbox process's address-space limit (activities.sandbox)
            raise RenderError("the template exceeded the memory budget") from exc
        except Exception as exc:  # any template failure is the template's, never the worker's
            raise RenderError(f"{type(exc).__name__}: {exc}") from exc
        if len(output) > MAX_OUTPUT:
            raise RenderError(f"rendered content is longer than {MAX_OUTPUT} characters")
        # Handlebars escapes ' and Novu turns it back; keep apostrophes readable the same way.
        return output.replace("&#39;", "'") if escape else output

    def render_value(self, value: Any, context: dict[str, Any], *, escape: bool = True) -> Any:
        """Render strings, and strings nested in dicts/lists (CTA buttons, push data, email blocks)."""
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
    results: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Novu's compile context: payload fields at top level *and* under ``payload``, plus the rest."""
    events = list((digest or {}).get("events") or [])
    context: dict[str, Any] = dict(payload)
    context.update(
        payload=payload,
        subscriber=subscriber,
        step={
            "digest": bool(events),
            "events": events,
            "total_count": (digest or {}).get("total_count", len(events)),
        },
        branding={"logo": None, "color": "#f47373", **(branding or {})},
    )
    if results:
        context["steps"] = results  # code workflows: earlier steps' results by step id
    if actor is not None:
        context["actor"] = actor
    if tenant is not None:
        context["tenant"] = tenant
    return context
