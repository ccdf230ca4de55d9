"""Translations in templates: ``{{ t.key }}`` replaced by the subscriber's locale's text before rendering.

A workflow's translations are JSON objects per locale (``/v2/translations``). Before a step is rendered for a
subscriber, each ``{{ t.some.key }}`` in its template fields is replaced by the text for the subscriber's
``locale``, looked up key by key along a fallback chain (``fr_CA`` → ``fr`` → another ``fr_*`` → the default
locale → its language). The text is spliced into the template *source*, so it may use variables itself
(``"Bonjour {{ subscriber.firstName }}"``) and is rendered — in the same bounded sandbox — like the rest.

Plurals: a key whose value is an object of CLDR categories (``{"one": "…", "other": "…"}``) is chosen by
a count — ``{{ t.cart.items | plural(payload.count) }}`` in Jinja, ``{{plural t.cart.items payload.count}}``
in Handlebars — with the locale's plural rules (babel); ``{{count}}`` inside the texts is the count.
A key found nowhere is written as its own path and reported as missing, never rendered blank.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from activities.handlebars import is_handlebars

CATEGORIES = ("zero", "one", "two", "few", "many", "other")
_KEY = r"[A-Za-z_][\w-]*(?:\.[A-Za-z_0-9][\w-]*)*"
#: ``{{ t.key }}``, ``{{ t.key | plural(expr) }}`` and ``{{plural t.key expr}}``.
REFERENCE = re.compile(
    r"\{\{\s*(?:plural\s+t\.(?P<hb_key>" + _KEY + r")\s+(?P<hb_count>[^}]+?)"
    r"|t\.(?P<key>" + _KEY + r")(?:\s*\|\s*plural\(\s*(?P<count>[^}]+?)\s*\))?)\s*\}\}"
)
_COUNT = re.compile(r"\{\{\s*count\s*\}\}")
TEMPLATE_FIELDS = ("content", "subject", "title", "preheader", "sender_name", "cta", "data", "avatar")


def normalize_locale(locale: str | None) -> str | None:
    if not locale:
        return None
    parts = str(locale).replace("-", "_").split("_")
    return "_".join([parts[0].lower(), *(p.upper() for p in parts[1:])])


def references(value: Any) -> bool:
    """Whether a template field (string, or strings nested in lists/objects) mentions ``t.``."""
    if isinstance(value, str):
        return "t." in value and REFERENCE.search(value) is not None
    if isinstance(value, dict):
        return any(references(v) for v in value.values())
    if isinstance(value, list):
        return any(references(v) for v in value)
    return False


def _get(content: dict[str, Any], key: str) -> Any:
    """``a.b.c`` in nested objects, or a flat ``"a.b.c"`` key."""
    if key in content:
        return content[key]
    node: Any = content
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


@dataclass
class Translator:
    """The translations of one workflow (locale → content) and the environment's default locale."""

    by_locale: dict[str, dict[str, Any]]
    default_locale: str = "en_US"
    _chains: dict[str | None, list[str]] = field(default_factory=dict)

    def chain(self, locale: str | None) -> list[str]:
        """The locales to look a key up in, most specific first."""
        if locale not in self._chains:
            wanted: list[str] = []
            for candidate in (normalize_locale(locale), normalize_locale(self.default_locale)):
                if not candidate:
                    continue
                language = candidate.split("_")[0]
                wanted += [candidate, language]
                wanted += sorted(loc for loc in self.by_locale if loc.split("_")[0] == language)
            self._chains[locale] = [loc for loc in dict.fromkeys(wanted) if loc in self.by_locale]
        return self._chains[locale]

    def lookup(self, locale: str | None, key: str) -> tuple[str | None, Any]:
        """(locale it was found in, value) or (None, None)."""
        for loc in self.chain(locale):
            value = _get(self.by_locale[loc], key)
            if value is not None:
                return loc, value
        return None, None

    def apply(self, source: str, locale: str | None, missing: set[str]) -> str:
        """``source`` with every translation reference replaced (missing keys collected)."""
        handlebars = is_handlebars(source)

        def replace(match: re.Match[str]) -> str:
            key = match.group("key") or match.group("hb_key")
            count = match.group("count") or match.group("hb_count")
            found_in, value = self.lookup(locale, key)
            if value is None:
                missing.add(key)
                return key
            if isinstance(value, dict):
                forms = {c: str(value[c]) for c in CATEGORIES if isinstance(value.get(c), str)}
                if not forms:
                    missing.add(key)
                    return key
                if count is None:
                    return forms.get("other") or next(iter(forms.values()))
                return plural_source(forms, count.strip(), found_in or "en", handlebars=handlebars)
            return str(value)

        return REFERENCE.sub(replace, source)

    def apply_value(self, value: Any, locale: str | None, missing: set[str]) -> Any:
        if isinstance(value, str):
            return self.apply(value, locale, missing) if "t." in value else value
        if isinstance(value, dict):
            return {k: self.apply_value(v, locale, missing) for k, v in value.items()}
        if isinstance(value, list):
            return [self.apply_value(v, locale, missing) for v in value]
        return value


def plural_source(forms: dict[str, str], count: str, locale: str, *, handlebars: bool) -> str:
    """Template source choosing among ``forms`` by ``count``'s plural category in ``locale``."""
    other = forms.get("other") or next(iter(forms.values()))
    branches = [(c, text) for c, text in forms.items() if c != "other"]
    if handlebars:
        text_of = {c: _COUNT.sub("{{" + count + "}}", t) for c, t in forms.items()}
        result = _COUNT.sub("{{" + count + "}}", other)
        for category, _ in reversed(branches):
            result = (
                f'{{{{#equals (plural_category {count} "{locale}") "{category}"}}}}'
                f"{text_of[category]}{{{{else}}}}{result}{{{{/equals}}}}"
            )
        return result
    expression = f'plural_category(({count}), "{locale}")'
    out = []
    for index, (category, text) in enumerate(branches):
        keyword = "if" if index == 0 else "elif"
        out.append(
            f'{{% {keyword} {expression} == "{category}" %}}{_COUNT.sub("{{ (" + count + ") }}", text)}'
        )
    other_text = _COUNT.sub("{{ (" + count + ") }}", other)
    if not out:
        return other_text
    return "".join(out) + f"{{% else %}}{other_text}{{% endif %}}"


def step_references(step: Any) -> bool:
    """Whether a step (or one of its variants) uses translations at all: most do not, and pay nothing."""
    if any(references(getattr(step, name, None)) for name in TEMPLATE_FIELDS):
        return True
    return any(step_references(variant) for variant in getattr(step, "variants", None) or [])


def translate_step(step: Any, translator: Translator, locale: str | None) -> tuple[Any, list[str]]:
    """The step with translation references replaced for ``locale``, and the keys found nowhere."""
    missing: set[str] = set()
    changes = {
        name: translator.apply_value(getattr(step, name), locale, missing)
        for name in TEMPLATE_FIELDS
        if getattr(step, name, None) is not None
    }
    return step.model_copy(update=changes), sorted(missing)
