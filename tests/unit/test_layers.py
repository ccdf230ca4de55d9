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


#: Start-up probes that read no table of ours: ``SELECT 1`` and Alembic's version row.
STARTUP_PROBES = "tidings/startup.py"


def test_tidings_builds_no_sql() -> None:
    assert [hit for hit in query_imports("tidings") if not hit.startswith(STARTUP_PROBES)] == []


#: Keys of Novu's documents: a dict in store/ that sets one of them from a row is a wire serializer.
NOVU_DOCUMENT_KEYS = {"_id", "_environmentId", "_organizationId", "createdAt", "updatedAt"}
#: Novu JSON that store/ holds on purpose: the stored step shape (normalised on write). The outbound webhook
#: event data is built by tidings/webhook_payloads.py; store/webhook_events.py only writes it to the outbox.
STORED_NOVU_JSON = {"store/workflow_steps.py"}
#: The one module outside api/ that builds wire documents: outbound webhook event data, which activities
#: (no api/ imports) and the store's message-change path build too.
WEBHOOK_PAYLOADS = "tidings/webhook_payloads.py"
#: The Temporal part of a schedule's answer: API words (api/views.py), not tidings/schedules.py's.
SCHEDULE_ANSWER_KEYS = {"paused", "nextRuns", "recentRuns", "numActions", "temporalScheduleId"}


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


def test_tidings_builds_no_api_document_but_webhook_payloads() -> None:
    """Settings, Temporal logic and start-up live in tidings/; what a client reads is built in api/ (issue 16)."""
    keys = NOVU_DOCUMENT_KEYS | SCHEDULE_ANSWER_KEYS
    found = [
        hit
        for path in sorted((ROOT / "tidings").rglob("*.py"))
        if str(path.relative_to(ROOT)) != WEBHOOK_PAYLOADS
        for hit in wire_documents(path, keys)
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
ROW_CALLS = {"get", "exec", "execute", "scalar", "scalars", "add", "add_all", "delete", "merge", "refresh"}


def test_the_api_and_activities_read_and_write_rows_through_the_store() -> None:
    assert session_uses("api", ROW_CALLS) == [] and session_uses("activities", ROW_CALLS) == []


def session_names(tree: ast.AST) -> set[str]:
    """Names a module gives a session: ``session``, ``async with db.session() as s``, ``x: AsyncSession``."""
    names = {"session"}
    for node in ast.walk(tree):
        if isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                opened = item.context_expr
                if (
                    isinstance(opened, ast.Call)
                    and isinstance(opened.func, ast.Attribute)
                    and opened.func.attr == "session"
                    and isinstance(item.optional_vars, ast.Name)
                ):
                    names.add(item.optional_vars.id)
        if (
            isinstance(node, ast.arg)
            and node.annotation is not None
            and "AsyncSession" in ast.unparse(node.annotation)
        ):
            names.add(node.arg)
    return names


def session_uses(folder: str, attributes: set[str] | None = None) -> list[str]:
    """Every ``session.<anything>`` (a call such as ``merge``/``commit``/``refresh``, or ``info``/``bind``),
    or only those of ``attributes``."""
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        names = session_names(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in names
                and (attributes is None or node.attr in attributes)
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value.id}.{node.attr}")
    return found


def test_the_api_only_hands_its_session_to_the_store() -> None:
    """A route opens the transaction and passes the session to store functions; it calls nothing on it
    and reads nothing of it (``session.merge`` of the Inbox's subscriber was a row write in a router)."""
    assert session_uses("api") == []
