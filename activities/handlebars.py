"""Handlebars → Jinja source, so templates copied from Novu render the same in Jinja's sandbox.

Covers the forms Novu templates use: ``{{var}}``, ``{{{raw}}}``, ``{{#if}}…{{else}}…{{/if}}`` (and
``{{else if …}}``), ``{{#unless}}``, ``{{#each}}`` with ``this``/``@index``/``@key``/``@first``/``@last``/``../``,
``{{#with}}``, block helpers (``{{#equals a b}}``, ``{{#gt a b}}`` …), inline helper calls with positional and
``key=value`` arguments and ``(sub expressions)``, and comments. A template with none of these is left alone
(it is treated as Jinja), so ``{{ subscriber.firstName or name }}`` keeps working.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from store.workflow_steps import TEMPLATE_HELPERS

#: Helper names that make ``{{name arg}}`` a Handlebars call (registered as Jinja globals in render.py).
HELPERS = TEMPLATE_HELPERS
#: Block helpers that behave like ``if`` on the helper's result.
CONDITION_BLOCKS = frozenset({"equals", "gt", "gte", "lt", "lte", "eq", "ne"})

_MUSTACHE = re.compile(r"\{\{\{~?\s*(.*?)\s*~?\}\}\}|\{\{~?\s*(.*?)\s*~?\}\}", re.DOTALL)
_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<open>\()|(?P<close>\))"""
    r"""|(?P<hash>[A-Za-z_][\w-]*)=|(?P<word>[^\s()=]+))"""
)
_BLOCK_MARKERS = ("{{#", "{{/", "{{{", "{{^", "{{else", "{{!", "{{@", "{{>", "{{~")
_NUMBER = re.compile(r"-?\d+(\.\d+)?$")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")


class HandlebarsError(ValueError):
    """A Handlebars template this translator cannot turn into Jinja (unbalanced blocks, bad tokens)."""


def is_handlebars(source: str) -> bool:
    """True when ``source`` uses Handlebars-only syntax (blocks, triple-stash, helper calls)."""
    if "{%" in source:
        return False
    if any(marker in source for marker in _BLOCK_MARKERS):
        return True
    for match in _MUSTACHE.finditer(source):
        words = (match.group(2) or "").split()
        if len(words) >= 2 and words[0] in HELPERS:
            return True
    return False


@dataclass
class _Scope:
    kind: str  # "root" | "each" | "with" | "if"
    var: str = ""  # the Jinja name bound to ``this`` in each/with
    key: str = ""  # the Jinja name bound to ``@key`` in each
    has_else: bool = False


class _Translator:
    def __init__(self) -> None:
        self.scopes: list[_Scope] = [_Scope("root")]
        self.counter = 0

    # --- expressions -------------------------------------------------------------------------
    def _value_scopes(self) -> list[_Scope]:
        return [s for s in self.scopes if s.kind in ("root", "each", "with")]

    def path(self, token: str) -> str:
        """A Handlebars path (``this.a``, ``../b``, ``@index``, ``a.[0].b``) → a Jinja expression."""
        scopes = self._value_scopes()
        depth = 0
        while token.startswith("../"):
            depth += 1
            token = token[3:]
        scope = scopes[max(0, len(scopes) - 1 - depth)]
        if token.startswith("@root"):
            token, scope = token[len("@root") :].lstrip("."), scopes[0]
            if not token:
                raise HandlebarsError("@root needs a path")
        if token.startswith("@"):
            loop = {"@index": "loop.index0", "@first": "loop.first", "@last": "loop.last"}
            if token in loop:
                return loop[token]
            if token == "@key" and scope.key:
                return scope.key
            raise HandlebarsError(f"unsupported data variable {token}")
        parts = [p for p in re.split(r"\.(?![^\[]*\])|/", token) if p != ""]
        if parts and parts[0] in ("this", "."):
            parts = parts[1:]
        base = scope.var or None
        segments: list[str] = []
        for part in parts:
            name = part[1:-1] if part.startswith("[") and part.endswith("]") else part
            if name.isdigit():
                segments.append(f"[{name}]")
            elif _IDENT.match(name):
                segments.append(f".{name}")
            else:
                segments.append(f"[{name!r}]")
        if base is None:
            if not segments:
                return "_hb_root()"
            first = segments[0]
            if first.startswith("."):
                return first[1:] + "".join(segments[1:])
            return "_hb_root()" + "".join(segments)
        return base + "".join(segments)

    def literal_or_path(self, token: str) -> str:
        if token[0] in "\"'":
            return repr(token[1:-1].replace('\\"', '"').replace("\\'", "'"))
        if _NUMBER.match(token):
            return token
        if token in ("true", "false"):
            return "true" if token == "true" else "false"
        if token in ("null", "undefined"):
            return "none"
        return self.path(token)

    def expression(self, text: str) -> str:
        """``helper a "b" k=1`` or ``path`` → a Jinja expression."""
        tokens = [m for m in _TOKEN.finditer(text) if m.group(0).strip()]
        pos = 0

        def parse_call(until_close: bool) -> str:
            nonlocal pos
            items: list[str] = []
            hashes: list[str] = []
            while pos < len(tokens):
                tok = tokens[pos]
                if tok.group("close"):
                    if not until_close:
                        raise HandlebarsError("unbalanced ')'")
                    pos += 1
                    break
                pos += 1
                if tok.group("open"):
                    items.append(parse_call(True))
                elif tok.group("hash"):
                    if pos >= len(tokens):
                        raise HandlebarsError("hash argument without a value")
                    value_tok = tokens[pos]
                    pos += 1
                    value = (
                        parse_call(True) if value_tok.group("open") else self.atom(value_tok.group(0).strip())
                    )
                    hashes.append(f"{tok.group('hash')}={value}")
                else:
                    items.append(self.atom(tok.group(0).strip()))
            else:
                if until_close:
                    raise HandlebarsError("unbalanced '('")
            if not items:
                raise HandlebarsError("empty expression")
            head, args = items[0], items[1:] + hashes
            if args or head in HELPERS:
                if head not in HELPERS:
                    raise HandlebarsError(f"unknown helper {head}")
                return f"{head}({', '.join(args)})"
            return head

        return parse_call(False)

    def atom(self, token: str) -> str:
        if token in HELPERS:
            return token
        return self.literal_or_path(token)

    # --- statements --------------------------------------------------------------------------
    def translate(self, source: str) -> str:
        out: list[str] = []
        pos = 0
        for match in _MUSTACHE.finditer(source):
            out.append(_raw_text(source[pos : match.start()]))
            pos = match.end()
            if match.group(1) is not None:
                out.append("{{ (" + self.expression(match.group(1)) + ")|safe }}")
            else:
                out.append(self.tag(match.group(2) or ""))
        out.append(_raw_text(source[pos:]))
        if len(self.scopes) != 1:
            raise HandlebarsError(f"unclosed block {{{{#{self.scopes[-1].kind}}}}}")
        return "".join(out)

    def tag(self, body: str) -> str:
        if body.startswith("!"):
            return ""
        if body.startswith("#"):
            return self.open_block(body[1:].strip())
        if body.startswith("^"):
            return self.open_block("unless " + body[1:].strip())
        if body.startswith("/"):
            return self.close_block(body[1:].strip())
        if body == "else" or body.startswith("else "):
            return self.else_block(body[4:].strip())
        if body.startswith(">"):
            raise HandlebarsError("partials are not supported")
        return "{{ " + self.expression(body) + " }}"

    def open_block(self, body: str) -> str:
        name, _, rest = body.partition(" ")
        rest = rest.strip()
        if name == "if":
            self.scopes.append(_Scope("if"))
            return "{% if " + self.expression(rest) + " %}"
        if name == "unless":
            self.scopes.append(_Scope("unless"))
            return "{% if not (" + self.expression(rest) + ") %}"
        if name in CONDITION_BLOCKS:
            self.scopes.append(_Scope(name))
            return "{% if " + self.expression(f"{name} {rest}") + " %}"
        if name == "each":
            target = self.expression(rest)
            self.counter += 1
            scope = _Scope("each", var=f"_hb_this{self.counter}", key=f"_hb_key{self.counter}")
            self.scopes.append(scope)
            return f"{{% for {scope.key}, {scope.var} in _hb_each({target}) %}}"
        if name == "with":
            target = self.expression(rest)
            self.counter += 1
            scope = _Scope("with", var=f"_hb_this{self.counter}")
            self.scopes.append(scope)
            return f"{{% with {scope.var} = {target} %}}{{% if {scope.var} %}}"
        raise HandlebarsError(f"unsupported block helper #{name}")

    def else_block(self, rest: str) -> str:
        scope = self.scopes[-1]
        if scope.kind == "root":
            raise HandlebarsError("{{else}} outside a block")
        if rest.startswith("if "):
            if scope.kind == "each":
                raise HandlebarsError("{{else if}} inside #each")
            return "{% elif " + self.expression(rest[3:].strip()) + " %}"
        scope.has_else = True
        return "{% else %}"  # Jinja's for-else runs for empty lists, like Handlebars' each-else

    def close_block(self, name: str) -> str:
        scope = self.scopes.pop() if len(self.scopes) > 1 else None
        if scope is None or scope.kind != name:
            raise HandlebarsError(f"{{{{/{name}}}}} does not close an open block")
        if scope.kind == "each":
            return "{% endfor %}"
        if scope.kind == "with":
            return "{% endif %}{% endwith %}"
        return "{% endif %}"


def _raw_text(text: str) -> str:
    """Literal template text; Jinja delimiters inside it are kept literal."""
    if not text:
        return ""
    if "{%" in text or "{#" in text or "{{" in text or "%}" in text or "#}" in text:
        return "{% raw %}" + text.replace("{% endraw %}", "") + "{% endraw %}"
    return text


def to_jinja(source: str) -> str:
    """Translate a Handlebars template to Jinja source; non-Handlebars templates come back unchanged."""
    if not is_handlebars(source):
        return source
    return _Translator().translate(source)
