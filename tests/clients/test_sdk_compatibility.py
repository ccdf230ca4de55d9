"""docs/sdk-compatibility.md lists every operation of novu-py and @novu/api, and its statuses are true.

The SDKs are walked (tests/sdk_operations.py), the app's routes are read from the app itself, and the
table is parsed; nothing here is a hand-kept list.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from api.app import create_app
from tests.sdk_operations import JS_DIR, novu_api_operations, novu_py_operations
from tests.support import make_settings

TABLE = Path(__file__).parents[2] / "docs" / "sdk-compatibility.md"
ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|\s*`(\w+) ([^`]+)`\s*\|\s*([^|]+?)\s*\|(.*)\|\s*$")
STATUSES = ("works", "not yet", "not applicable to self-hosting")


def table_rows(*, with_notes: bool = False) -> dict[str, tuple[str, ...]]:
    """novu-py name → (@novu/api name, method, path, status[, note])."""
    rows: dict[str, tuple[str, ...]] = {}
    for line in TABLE.read_text().splitlines():
        match = ROW.match(line)
        if match:
            py, js, method, path, status, note = match.groups()
            assert py not in rows, f"{py} is listed twice"
            rows[py] = (js, method, path, status, note.strip()) if with_notes else (js, method, path, status)
    return rows


def served_routes(tmp_path: Path) -> list[tuple[str, re.Pattern[str]]]:
    settings = make_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
        task_queue="unused",
        smtp_port=1,
        data_dir=str(tmp_path),
    )
    routes = []
    for path, item in create_app(settings).openapi()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")
        routes.extend((method.upper(), pattern) for method in item)
    return routes


def is_served(routes: list[tuple[str, re.Pattern[str]]], method: str, path: str) -> bool:
    sample = re.sub(r"\{[^}]+\}", "x", path)
    return any(m == method and pattern.match(sample) for m, pattern in routes)


def test_every_novu_py_operation_is_listed_with_its_request() -> None:
    rows = table_rows()
    operations = novu_py_operations()
    assert len(operations) > 100  # the walk found the SDK's operations, not an empty shell
    missing = [op.name for op in operations if op.name not in rows]
    assert missing == [], f"add these novu-py operations to {TABLE.name}: {missing}"
    stale = sorted(set(rows) - {op.name for op in operations})
    assert stale == [], f"these rows name no novu-py operation: {stale}"
    wrong = [
        (op.name, f"{op.method} {op.path}") for op in operations if rows[op.name][1:3] != (op.method, op.path)
    ]
    assert wrong == [], f"the request in the table differs from the SDK's: {wrong}"
    bad = [(name, row[3]) for name, row in rows.items() if row[3] not in STATUSES]
    assert bad == [], f"status must be one of {STATUSES}: {bad}"


def test_every_novu_api_operation_is_listed() -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not (JS_DIR / "node_modules" / "@novu" / "api").is_dir():
        pytest.fail("@novu/api is not installed: run `npm ci` in tests/clients/js_api (.ci/run does)")
    listed = {row[0] for row in table_rows().values()}
    operations = set(novu_api_operations())
    assert len(operations) > 100
    assert sorted(operations - listed) == [], f"add these @novu/api operations to {TABLE.name}"
    assert sorted(listed - operations) == [], "these rows name no @novu/api operation"


def test_statuses_match_what_the_app_serves(tmp_path: Path) -> None:
    routes = served_routes(tmp_path)
    works_unserved: list[str] = []
    served_but_not_listed_as_working: list[str] = []
    for name, (_, method, path, status, note) in table_rows(with_notes=True).items():
        served = is_served(routes, method, path)
        if status == "works" and not served:
            works_unserved.append(f"{name}: {method} {path}")
        # A served route may stay "not yet" only when the note says why ("served, but …").
        if status != "works" and served and not note.startswith("served, but"):
            served_but_not_listed_as_working.append(f"{name}: {method} {path}")
    assert works_unserved == [], "marked works, but Tidings does not serve them"
    assert served_but_not_listed_as_working == [], "served now: update their status to works"
