"""Novu step JSON as stored for REST workflows: key normalisation, ids, and the variables templates use."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

from store.ids import new_id
from workflows.step_json import step_templates

#: Keys whose values are user data: never renamed.
_DATA_KEYS = frozenset({"data", "value", "payload", "customData", "defaultValue", "preferenceSettings"})
_PATH = re.compile(r"^(?:\.\./)*@?[A-Za-z_$][\w$]*(?:\.[\w$\[\]]+)*$")
_NOT_VARIABLES = frozenset(
    {
        "else",
        "this",
        "if",
        "unless",
        "each",
        "with",
        "or",
        "and",
        "not",
        "in",
        "is",
        "true",
        "false",
        "null",
        "none",
        "undefined",
        "loop",
    }
)
#: Novu's template helpers: names that are calls, not variables, in ``{{name arg}}``.
TEMPLATE_HELPERS = frozenset(
    {
        "json",
        "equals",
        "titlecase",
        "uppercase",
        "lowercase",
        "pluralize",
        "plural_category",
        "dateFormat",
        "groupBy",
        "unique",
        "sortBy",
        "numberFormat",
        "gt",
        "gte",
        "lt",
        "lte",
        "eq",
        "ne",
        "i18n",
        "lookup",
    }
)
_SYSTEM_ROOTS = frozenset({"step", "branding", "subscriber", "tenant", "actor", "steps"})


def camel(key: str) -> str:
    """``should_stop_on_fail`` → ``shouldStopOnFail``; ``_template_id`` → ``_templateId``."""
    lead = "_" if key.startswith("_") else ""
    head, *rest = key.lstrip("_").split("_")
    return lead + head + "".join(p[:1].upper() + p[1:] for p in rest)


def camelize(value: Any) -> Any:
    """Rename snake_case keys (what the PyPI ``novu`` SDK sends in nested steps) to Novu's camelCase."""
    if isinstance(value, list):
        return [camelize(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = camel(key) if isinstance(key, str) and "_" in key.strip("_") else key
        if name == "replayCallback":
            name = "replyCallback"
        out[name] = item if name in _DATA_KEYS else camelize(item)
    return out


def normalize_step(step: dict[str, Any]) -> dict[str, Any]:
    """A step as stored: camelCase, with ``_id``, ``uuid`` and ``_templateId``, and Novu's defaults."""
    step = camelize(step)
    template = dict(step.get("template") or {})
    if not template.get("type") and step.get("type"):
        template["type"] = step["type"]
    template_id = str(template.get("_id") or step.get("_templateId") or new_id())
    template.setdefault("content", "")
    template["_id"] = template_id
    variants = [normalize_step(v) for v in step.get("variants") or []]
    return {
        **step,
        "_id": str(step.get("_id") or new_id()),
        "uuid": str(step.get("uuid") or uuid.uuid4()),
        "_templateId": template_id,
        "name": step.get("name") or template.get("name") or template.get("type"),
        "active": step.get("active") is not False,
        "shouldStopOnFail": bool(step.get("shouldStopOnFail", False)),
        "filters": list(step.get("filters") or []),
        "variants": variants,
        "metadata": step.get("metadata") or {},
        "template": template,
    }


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, dict):
        return [t for k, v in value.items() if k not in ("variables", "type", "_id") for t in _texts(v)]
    return []


def _mustache_bodies(text: str) -> Iterator[str]:
    """What is inside each ``{{…}}`` / ``{{{…}}}``, in one left-to-right pass.

    Linear in the text: a regex with a lazy body restarted the search at every ``{{`` and read to the end
    each time when nothing closed it (24 KB of ``{{`` held the API's event loop for seconds). Here an
    unclosed ``{{`` ends the scan, since no later ``{{`` can find a ``}}`` either.
    """
    position = 0
    while True:
        start = text.find("{{", position)
        if start < 0:
            return
        end = text.find("}}", start + 2)
        if end < 0:
            return
        yield text[start + 2 : end].removeprefix("{")
        position = end + 2


def template_paths(texts: list[str]) -> list[str]:
    """Paths read by ``{{…}}`` expressions (Handlebars or Jinja), outside ``#each`` bodies, in order."""
    found: list[str] = []
    seen: set[str] = set()
    for text in texts:
        depth = 0
        for raw in _mustache_bodies(text):
            body = raw.strip().strip("~").strip()
            if body.startswith("/each"):
                depth = max(0, depth - 1)
                continue
            opens_each = body.startswith("#each")
            for token in re.split(r"[\s()|,=+\-*/<>!]+", body.lstrip("#^/").strip()):
                token = token.strip("'\"")
                if (
                    not token
                    or not _PATH.match(token)
                    or token in _NOT_VARIABLES
                    or token in TEMPLATE_HELPERS
                ):
                    continue
                if token.startswith(("@", "this", "../")) or (depth and not opens_each):
                    continue
                if token not in seen:
                    seen.add(token)
                    found.append(token)
            if opens_each:
                depth += 1
    return found


def build_triggers(identifier: str, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Novu's ``triggers``: the identifier, payload variables, and the reserved/subscriber variables used."""
    by_step = [step_templates(s) for s in steps]
    texts = [t for templates in by_step for t in _texts(templates[0])]
    texts += [t for templates in by_step for variant in templates[1:] for t in _texts(variant)]
    variables: list[dict[str, Any]] = []
    reserved: dict[str, list[dict[str, str]]] = {}
    subscriber: list[dict[str, str]] = []
    for path in template_paths(texts):
        root, _, rest = path.partition(".")
        if root in ("tenant", "actor"):
            if rest:
                reserved.setdefault(root, []).append({"name": rest})
            continue
        if root == "subscriber":
            if rest:
                subscriber.append({"name": rest})
            continue
        if root in _SYSTEM_ROOTS:
            continue
        name = rest if root == "payload" and rest else path
        if all(v["name"] != name for v in variables):
            variables.append({"name": name, "type": "String"})
    return [
        {
            "type": "event",
            "identifier": identifier,
            "variables": variables,
            "reservedVariables": [{"type": k, "variables": v} for k, v in reserved.items()],
            "subscriberVariables": subscriber,
        }
    ]


def slugify(name: str) -> str:
    """``slugify(name, {lower: true, strict: true})``: lowercase ASCII words joined by dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "workflow"
