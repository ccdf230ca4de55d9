"""Render the Tidings Helm chart without a helm binary (tests, and `deploy/k8s/tidings.yaml`).

It implements the small subset of Go templates and Helm functions the chart uses — actions with
``{{-``/``-}}`` trimming, ``if``/``else if``/``else``, ``range $k, $v :=``, ``define``/``include``, ``$`` and
variables, and the functions in ``FUNCTIONS`` — and fails loudly on anything else, so the chart cannot drift
into syntax that only real Helm would render. With helm installed, ``helm template`` gives the same output.

    python deploy/helm/render.py deploy/helm/tidings -f deploy/k8s/values.yaml > deploy/k8s/tidings.yaml
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ACTION = re.compile(r"\{\{(-?)(.*?)(-?)\}\}", re.S)
WORD = re.compile(r'"(?:\\.|[^"\\])*"|\(|\)|[^\s()]+')


class TemplateError(Exception):
    pass


def to_yaml(value: Any) -> str:
    if value is None:
        return "null"
    return yaml.safe_dump(value, sort_keys=True, default_flow_style=False).rstrip("\n")


def _indent(width: int, text: Any) -> str:
    return "\n".join(" " * width + line if line else line for line in str(text).split("\n"))


def _required(message: str, value: Any) -> Any:
    if value is None or value == "":
        raise TemplateError(message)
    return value


def _printf(fmt: str, *args: Any) -> str:
    return re.sub(r"%[sdv]", "{}", fmt).format(*(fmt_value(a) for a in args))


FUNCTIONS: dict[str, Any] = {
    "quote": lambda v: json.dumps("" if v is None else fmt_value(v)),
    "toYaml": to_yaml,
    "nindent": lambda n, text: "\n" + _indent(int(n), text),
    "indent": lambda n, text: _indent(int(n), text),
    "default": lambda fallback, v=None: v if truthy(v) else fallback,
    "required": _required,
    "not": lambda v: not truthy(v),
    "and": lambda *vs: next((v for v in vs if not truthy(v)), vs[-1]),
    "or": lambda *vs: next((v for v in vs if truthy(v)), vs[-1]),
    "eq": lambda a, b: a == b,
    "printf": _printf,
    "toString": lambda v: fmt_value(v),
    "trunc": lambda n, s: str(s)[: int(n)],
    "trimSuffix": lambda suffix, s: str(s)[: -len(suffix)] if suffix and str(s).endswith(suffix) else str(s),
}


def truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") and not (isinstance(value, dict | list) and not value)


def fmt_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        raise TemplateError(f"cannot print a {type(value).__name__} directly; use toYaml: {value!r}")
    return str(value)


def tokenize(source: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    trim_next = False
    for match in ACTION.finditer(source):
        text = source[pos : match.start()]
        if trim_next:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        tokens.append(("text", text))
        body = match.group(2).strip()
        if not (body.startswith("/*") and body.endswith("*/")):
            tokens.append(("action", body))
        trim_next = bool(match.group(3))
        pos = match.end()
    tail = source[pos:]
    tokens.append(("text", tail.lstrip() if trim_next else tail))
    return tokens


def parse(tokens: list[tuple[str, str]], i: int, defines: dict[str, list[Any]]) -> tuple[list[Any], int, str]:
    """Nodes up to the next ``end``/``else`` (returned as the terminator)."""
    nodes: list[Any] = []
    while i < len(tokens):
        kind, body = tokens[i]
        i += 1
        if kind == "text":
            if body:
                nodes.append(("text", body))
            continue
        keyword = body.split(None, 1)[0]
        if keyword in ("end", "else"):
            return nodes, i, body
        if keyword == "if":
            branches = []
            cond = body[2:].strip()
            while True:
                inner, i, term = parse(tokens, i, defines)
                branches.append((cond, inner))
                if term == "end":
                    nodes.append(("if", branches, []))
                    break
                if term.startswith("else if "):
                    cond = term[len("else if ") :].strip()
                    continue
                if term == "else":
                    otherwise, i, term = parse(tokens, i, defines)
                    if term != "end":
                        raise TemplateError("if: expected end after else")
                    nodes.append(("if", branches, otherwise))
                    break
                raise TemplateError(f"unexpected {term!r}")
        elif keyword == "range":
            m = re.fullmatch(r"range\s+(?:(\$\w+)\s*,\s*(\$\w+)\s*:=\s*)?(.+)", body, re.S)
            if not m:
                raise TemplateError(f"unsupported range: {body}")
            inner, i, term = parse(tokens, i, defines)
            if term != "end":
                raise TemplateError("range: else is not supported")
            nodes.append(("range", m.group(1), m.group(2), m.group(3), inner))
        elif keyword == "define":
            name = json.loads(body.split(None, 1)[1])
            inner, i, term = parse(tokens, i, defines)
            defines[name] = inner
        elif keyword in ("with", "template", "block"):
            raise TemplateError(f"{keyword!r} is not supported by this renderer; write it with if/include")
        else:
            nodes.append(("expr", body))
    return nodes, i, ""


class Renderer:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.defines: dict[str, list[Any]] = {}

    def load(self, source: str) -> list[Any]:
        nodes, _, term = parse(tokenize(source), 0, self.defines)
        if term:
            raise TemplateError(f"unexpected {{{{ {term} }}}}")
        return nodes

    def render(self, nodes: list[Any], dot: Any, variables: dict[str, Any]) -> str:
        out: list[str] = []
        for node in nodes:
            if node[0] == "text":
                out.append(node[1])
            elif node[0] == "expr":
                out.append(fmt_value(self.pipeline(node[1], dot, variables)))
            elif node[0] == "if":
                for cond, body in node[1]:
                    if truthy(self.pipeline(cond, dot, variables)):
                        out.append(self.render(body, dot, variables))
                        break
                else:
                    out.append(self.render(node[2], dot, variables))
            elif node[0] == "range":
                _, key_var, value_var, expr, body = node
                items = self.pipeline(expr, dot, variables) or []
                pairs = sorted(items.items()) if isinstance(items, dict) else list(enumerate(items))
                for key, value in pairs:
                    scope = dict(variables)
                    if key_var:
                        scope[key_var], scope[value_var] = key, value
                    out.append(self.render(body, value, scope))
        return "".join(out)

    def pipeline(self, text: str, dot: Any, variables: dict[str, Any]) -> Any:
        words = WORD.findall(text)
        commands: list[list[str]] = [[]]
        depth = 0
        for word in words:
            if word == "|" and depth == 0:
                commands.append([])
                continue
            depth += (word == "(") - (word == ")")
            commands[-1].append(word)
        value: Any = _NOTHING
        for command in commands:
            value = self.command(command, dot, variables, value)
        return value

    def command(self, words: list[str], dot: Any, variables: dict[str, Any], piped: Any) -> Any:
        args = self.arguments(words[1:], dot, variables)
        if piped is not _NOTHING:
            args.append(piped)
        head = words[0]
        if head == "include":
            name, scope = args
            if name not in self.defines:
                raise TemplateError(f"include: no template {name!r}")
            return self.render(self.defines[name], scope, {})
        if head in FUNCTIONS:
            return FUNCTIONS[head](*args)
        if args:
            raise TemplateError(f"unknown function {head!r}")
        return self.value(head, dot, variables)

    def arguments(self, words: list[str], dot: Any, variables: dict[str, Any]) -> list[Any]:
        args: list[Any] = []
        i = 0
        while i < len(words):
            if words[i] == "(":
                depth, j = 1, i + 1
                while depth:
                    depth += (words[j] == "(") - (words[j] == ")")
                    j += 1
                args.append(self.pipeline(" ".join(words[i + 1 : j - 1]), dot, variables))
                i = j
            else:
                args.append(self.value(words[i], dot, variables))
                i += 1
        return args

    def value(self, word: str, dot: Any, variables: dict[str, Any]) -> Any:
        if word.startswith('"'):
            return json.loads(word)
        if re.fullmatch(r"-?\d+", word):
            return int(word)
        if word in ("true", "false"):
            return word == "true"
        if word == "nil":
            return None
        if word == ".":
            return dot
        if word.startswith("."):
            return lookup(dot, word[1:])
        if word.startswith("$"):
            name, _, path = word.partition(".")
            base = self.root if name == "$" else variables[name]
            return lookup(base, path) if path else base
        raise TemplateError(f"unknown word {word!r}")


_NOTHING = object()


def lookup(value: Any, path: str) -> Any:
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = (
            merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def render_chart(
    chart: Path,
    values: dict[str, Any] | None = None,
    *,
    release: str = "tidings",
    namespace: str = "default",
    revision: int = 1,
) -> str:
    """The chart's manifests as one multi-document YAML string, in template file order."""
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    root = {
        "Values": merge(yaml.safe_load((chart / "values.yaml").read_text()) or {}, values or {}),
        "Release": {"Name": release, "Namespace": namespace, "Revision": revision, "Service": "Helm"},
        "Chart": {key[:1].upper() + key[1:]: value for key, value in meta.items()},
    }
    renderer = Renderer(root)
    templates = sorted((chart / "templates").glob("*"))
    for helper in (t for t in templates if t.name.startswith("_")):
        renderer.load(helper.read_text())
    docs = []
    for template in (t for t in templates if not t.name.startswith("_") and t.suffix in (".yaml", ".yml")):
        text = renderer.render(renderer.load(template.read_text()), root, {}).strip()
        if text:
            docs.append(f"# Source: {chart.name}/templates/{template.name}\n{text}\n")
    return "---\n".join(docs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chart", type=Path)
    parser.add_argument("-f", "--values", type=Path, action="append", default=[])
    parser.add_argument("--name", default="tidings")
    parser.add_argument("--namespace", default="default")
    args = parser.parse_args(argv)
    values: dict[str, Any] = {}
    for path in args.values:
        values = merge(values, yaml.safe_load(path.read_text()) or {})
    sys.stdout.write(render_chart(args.chart, values, release=args.name, namespace=args.namespace))


if __name__ == "__main__":
    main()
