"""Novu's template helpers as plain Python functions, with JavaScript's semantics."""

from __future__ import annotations

import json as _json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

_NUMERIC = (int, float)


def _is_number(value: Any) -> bool:
    return isinstance(value, _NUMERIC) and not isinstance(value, bool)


def json(value: Any) -> str:
    return _json.dumps(value, default=str, separators=(",", ":"))


def equals(a: Any, b: Any) -> bool:
    """JavaScript's loose ``==``: ``"1" == 1`` is true."""
    if _is_number(a) and isinstance(b, str) or _is_number(b) and isinstance(a, str):
        try:
            return float(a) == float(b)
        except ValueError:
            return False
    return bool(a == b)


def eq(a: Any, b: Any) -> bool:
    """JavaScript's strict ``===``: same type and value."""
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def ne(a: Any, b: Any) -> bool:
    return not eq(a, b)


def _compare(a: Any, b: Any, op: Callable[[Any, Any], bool]) -> bool:
    try:
        if _is_number(a) != _is_number(b):
            return op(float(a), float(b))
        return op(a, b)
    except (TypeError, ValueError):
        return False


def gt(a: Any, b: Any) -> bool:
    return _compare(a, b, lambda x, y: x > y)


def gte(a: Any, b: Any) -> bool:
    return _compare(a, b, lambda x, y: x >= y)


def lt(a: Any, b: Any) -> bool:
    return _compare(a, b, lambda x, y: x < y)


def lte(a: Any, b: Any) -> bool:
    return _compare(a, b, lambda x, y: x <= y)


def titlecase(value: Any) -> str:
    return " ".join(w[:1].upper() + w[1:].lower() for w in str(value or "").split(" "))


def uppercase(value: Any) -> str:
    return str(value if value is not None else "").upper()


def lowercase(value: Any) -> str:
    return str(value if value is not None else "").lower()


def pluralize(count: Any, single: Any, plural: Any) -> Any:
    return single if _is_number(count) and count == 1 else plural


def _prop(item: Any, prop: str | None) -> Any:
    if prop is None:
        return item
    for part in prop.split("."):
        item = item.get(part) if isinstance(item, dict) else None
    return item


def group_by(items: Any, prop: str) -> list[dict[str, Any]]:
    groups: dict[str, list[Any]] = {}
    for item in items or []:
        groups.setdefault(_prop(item, prop), []).append(item)
    return [{"key": key, "items": values} for key, values in groups.items()]


def unique(items: Any, prop: str | None = None) -> list[Any]:
    seen: list[Any] = []
    for item in items or []:
        value = _prop(item, prop)
        if value not in seen:
            seen.append(value)
    return seen


def sort_by(items: Any, prop: str | None = None) -> list[Any]:
    def key(item: Any) -> tuple[int, Any]:
        value = _prop(item, prop)
        return (0, value) if _is_number(value) else (1, str(value))

    return sorted(items or [], key=key)


def number_format(
    value: Any, decimalLength: int = 2, thousandsSep: str = ",", decimalSep: str = "."
) -> str:  # Novu's hash argument names
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    text = f"{number:,.{int(decimalLength)}f}"
    whole, _, frac = text.partition(".")
    whole = whole.replace(",", thousandsSep)
    return f"{whole}{decimalSep}{frac}" if frac else whole


# date-fns tokens → strftime; longest first so "yyyy" wins over "yy".
_DATE_TOKENS = [
    ("yyyy", "%Y"),
    ("yy", "%y"),
    ("MMMM", "%B"),
    ("MMM", "%b"),
    ("MM", "%m"),
    ("M", "{M}"),
    ("dd", "%d"),
    ("do", "{do}"),
    ("d", "{d}"),
    ("EEEE", "%A"),
    ("EEE", "%a"),
    ("HH", "%H"),
    ("H", "{H}"),
    ("hh", "%I"),
    ("h", "{h}"),
    ("mm", "%M"),
    ("ss", "%S"),
    ("a", "%p"),
]
_DATE_TOKEN_RE = re.compile("|".join(re.escape(t) for t, _ in _DATE_TOKENS) + r"|'[^']*'|%")


def _parse_date(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if _is_number(value):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def date_format(value: Any, fmt: str = "yyyy-MM-dd") -> Any:
    """date-fns ``format`` for the common tokens; returns the input unchanged when it is not a date."""
    date = _parse_date(value)
    if date is None:
        return value
    table = dict(_DATE_TOKENS)
    day = date.day
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    dynamic = {
        "{M}": str(date.month),
        "{d}": str(day),
        "{do}": f"{day}{suffix}",
        "{H}": str(date.hour),
        "{h}": str(date.hour % 12 or 12),
    }

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "%":
            return "%%"
        if token.startswith("'"):
            return token[1:-1].replace("%", "%%")
        mapped = table[token]
        return dynamic.get(mapped, mapped)

    return date.strftime(_DATE_TOKEN_RE.sub(replace, str(fmt)))


def i18n(key: Any, *_: Any, **__: Any) -> Any:
    """Translations are an enterprise feature in Novu; the key is returned as is."""
    return key


def plural_category(count: Any, locale: Any = "en") -> str:
    """The CLDR plural category (``zero one two few many other``) of ``count`` in ``locale`` (babel)."""
    from babel import Locale, UnknownLocaleError

    try:
        number = float(count)
        rules = Locale.parse(str(locale).replace("-", "_"))
    except (TypeError, ValueError, UnknownLocaleError):
        return "other"
    return str(rules.plural_form(int(number) if number.is_integer() else number))


def lookup(obj: Any, key: Any) -> Any:
    if isinstance(obj, dict):
        return obj.get(key)
    if isinstance(obj, list | tuple) and _is_number(key) and 0 <= int(key) < len(obj):
        return obj[int(key)]
    return None


HELPERS: dict[str, Callable[..., Any]] = {
    "json": json,
    "equals": equals,
    "titlecase": titlecase,
    "uppercase": uppercase,
    "lowercase": lowercase,
    "pluralize": pluralize,
    "dateFormat": date_format,
    "groupBy": group_by,
    "unique": unique,
    "sortBy": sort_by,
    "numberFormat": number_format,
    "gt": gt,
    "gte": gte,
    "lt": lt,
    "lte": lte,
    "eq": eq,
    "ne": ne,
    "i18n": i18n,
    "lookup": lookup,
    "plural_category": plural_category,
}
