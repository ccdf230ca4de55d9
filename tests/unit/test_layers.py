"""store/ owns all SQL (issue 16 item 5): activities and the API call store functions and never build a
query themselves, so a reader finds every statement of a table in one folder."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: What builds SQL: any import from these, but for the names that only type a session, parse a URL or
#: classify an error.
QUERY_MODULES = ("sqlmodel", "sqlalchemy")
ALLOWED = {"sqlalchemy.exc", "sqlalchemy.engine", "sqlmodel.ext.asyncio.session"}


def query_imports(folder: str) -> list[str]:
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.split(".")[0] in QUERY_MODULES
            ):
                if node.module not in ALLOWED:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} from {node.module} import ...")
    return found


def test_activities_build_no_sql() -> None:
    assert query_imports("activities") == []


def test_the_api_builds_no_sql() -> None:
    assert query_imports("api") == []
