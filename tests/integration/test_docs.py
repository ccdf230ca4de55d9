"""Every sample in the docs runs: Python compiles (and workflow samples register and outline the way
start-up does), JSON parses, and each page's curl commands are answered 2xx by the API, in page order."""

from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from activities.custom import STEP_ACTIVITIES
from tests.support import Env
from tidings.settings import Settings
from workflows.dsl import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(page: Path, *languages: str) -> list[str]:
    return [body for lang, body in FENCE.findall(page.read_text()) if lang in languages]


def curl_commands(page: Path) -> list[list[str]]:
    """The curl commands of a page's shell blocks, as argument lists (line continuations joined)."""
    commands = []
    for body in blocks(page, "bash", "sh", "shell"):
        pending = ""
        for line in body.replace("\\\n", " ").splitlines():
            pending = f"{pending}\n{line}" if pending else line.strip()
            if not pending.startswith("curl "):
                pending = ""
                continue
            try:
                argv = shlex.split(pending, comments=True)
            except ValueError:  # a quoted JSON body goes on over the next lines
                continue
            commands.append(argv)
            pending = ""
        assert not pending, f"unterminated command in {page.name}: {pending}"
    return commands


def request_of(argv: list[str]) -> tuple[str, str, Any]:
    """(method, path with query, JSON body) of a curl command line."""
    method, url, body = "GET", "", None
    args = iter(argv[1:])
    for arg in args:
        if arg == "-X":
            method = next(args)
        elif arg in ("-H", "--header"):
            next(args)
        elif arg in ("-d", "--data"):
            body = json.loads(next(args))
            method = "POST" if method == "GET" else method
        elif arg.startswith("http"):
            parts = urlsplit(arg)
            url = parts.path + (f"?{parts.query}" if parts.query else "")
    assert url, argv
    return method, url, body


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
async def test_python_samples_compile_and_workflows_start_up(page: Path) -> None:
    """A workflow sample registers in a scratch catalog and outlines as start-up does (a repeated step id
    fails here exactly as it would stop the API from starting)."""
    saved_workflows, saved_activities = dict(REGISTRY), dict(STEP_ACTIVITIES)
    REGISTRY.clear()
    STEP_ACTIVITIES.clear()
    try:
        defined = 0
        for source in blocks(page, "python"):
            ast.parse(source)
            if "@workflow(" in source:
                exec(compile(source, str(page), "exec"), {"__name__": f"docs_{page.stem}"})
                defined += 1
        assert len(REGISTRY) == defined
        for entry in REGISTRY.values():
            ids = [spec.step_id for spec in await entry.outline()]
            assert ids and len(set(ids)) == len(ids)
    finally:
        REGISTRY.clear()
        REGISTRY.update(saved_workflows)
        STEP_ACTIVITIES.clear()
        STEP_ACTIVITIES.update(saved_activities)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_json_samples_parse(page: Path) -> None:
    for source in blocks(page, "json"):
        json.loads(source)
    for argv in curl_commands(page):
        request_of(argv)  # every -d body is JSON


def test_documented_settings_exist() -> None:
    documented = set(re.findall(r"`TIDINGS_([A-Z_]+)`", (ROOT / "docs" / "configuration.md").read_text()))
    assert documented and documented <= {name.upper() for name in Settings.model_fields}


@pytest.mark.parametrize("page", [p for p in PAGES if curl_commands(p)], ids=lambda p: p.name)
async def test_curl_samples_are_accepted(page: Path, env: Env) -> None:
    """Each page runs in a fresh environment where the quick start's subscribers exist."""
    for subscriber in ({"subscriberId": "ada", "firstName": "Ada"}, {"subscriberId": "grace"}):
        assert (await env.http.post("/v1/subscribers", json=subscriber)).status_code == 201
    try:
        for argv in curl_commands(page):
            method, url, body = request_of(argv)
            resp = await env.http.request(method, url, json=body)
            assert 200 <= resp.status_code < 300, f"{' '.join(argv)} → {resp.status_code} {resp.text}"
    finally:
        client = env.stack.client
        async for execution in client.list_workflows('ExecutionStatus="Running"'):
            if env.id in execution.id:
                await client.get_workflow_handle(execution.id).terminate("docs sample test done")
