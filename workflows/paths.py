"""Dotted paths and deep merging over JSON-like data: the one home for both (pure; workflow-safe).

Used by step conditions and integration selection (``payload.user.plan``), the trigger checks (required
variables, default values), the timing steps (``digestKey``, ``delayPath``) and the provider adapters
(``overrides.providers`` merged into a request body).
"""

from __future__ import annotations

from typing import Any

#: What :func:`get_path` returns for a path that does not exist (``None`` is a value that exists).
MISSING: Any = object()


def get_path(source: Any, path: str, default: Any = MISSING) -> Any:
    """The value at ``path`` (``a.b.0.c``: dict keys and list indexes); ``default`` when absent.
    Empty segments are ignored, so ``""`` is ``source`` itself."""
    current = source
    for part in [p for p in str(path).split(".") if p]:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return default
    return current


def set_path(target: dict[str, Any], path: str, value: Any) -> None:
    """Set ``a.b.c`` in ``target``, creating the objects on the way (a non-object on the way is left)."""
    *parents, leaf = path.split(".")
    for part in parents:
        target = target.setdefault(part, {}) if isinstance(target.get(part, {}), dict) else {}
    target[leaf] = value


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``merge({}, base, over)``: a new dict where ``over`` wins and nested objects are merged.
    Neither argument is changed."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
