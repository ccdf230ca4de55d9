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


#: Keys of Novu's documents: a dict in store/ that sets one of them from a row is a wire serializer.
NOVU_DOCUMENT_KEYS = {"_id", "_environmentId", "_organizationId", "createdAt", "updatedAt"}
#: Novu JSON that store/ holds on purpose: the stored step shape (normalised on write) and the outbound
#: webhook event payload written to the outbox in the same transaction as the change it reports.
STORED_NOVU_JSON = {"store/workflow_steps.py", "store/webhook_events.py"}


def wire_documents(path: Path, keys: set[str] = NOVU_DOCUMENT_KEYS) -> list[str]:
    """Dict displays setting a Novu document key to a computed value (sort maps name columns: constants)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.endswith("_view"):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} def {node.name}")
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and key.value in keys
                    and not isinstance(value, ast.Constant)
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {key.value!r}")
    return found


def test_the_store_returns_rows_not_novu_documents() -> None:
    """api/ owns the wire format (issue 16 item 5): store/ builds no Novu document from a row."""
    found = [
        hit
        for path in sorted((ROOT / "store").rglob("*.py"))
        if str(path.relative_to(ROOT)) not in STORED_NOVU_JSON and "migrations" not in path.parts
        for hit in wire_documents(path)
    ]
    assert found == []


def test_routers_only_route() -> None:
    """Novu documents are built in api/*views.py, not in routers (an ``{_id}``-only answer is no document)."""
    keys = NOVU_DOCUMENT_KEYS - {"_id"}
    found = [
        hit for path in sorted((ROOT / "api" / "routers").glob("*.py")) for hit in wire_documents(path, keys)
    ]
    assert found == []


#: Session calls that read or write rows: only store/ makes them (a router or activity calls a store function).
ROW_CALLS = {"get", "exec", "execute", "scalar", "scalars", "add", "add_all", "delete"}


def session_row_calls(folder: str) -> list[str]:
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ROW_CALLS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("session", "s")
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} session.{node.func.attr}")
    return found


def test_the_api_and_activities_read_and_write_rows_through_the_store() -> None:
    assert session_row_calls("api") == [] and session_row_calls("activities") == []
