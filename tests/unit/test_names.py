"""Names that say which id, and docstrings that cite only what the repository holds (issue #16 item 6)."""

from __future__ import annotations

import re
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter

from workflows import models
from workflows.models import FireDigestResult, ScheduledRun

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("api", "activities", "store", "tidings", "workflows", "worker.py")
OUTSIDE = re.compile(r"shared/reference|reference §")


def test_no_source_cites_a_document_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for top in SOURCES
        for path in ([ROOT / top] if top.endswith(".py") else sorted((ROOT / top).rglob("*.py")))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert found == []


def test_temporal_ids_are_named_execution_id_and_keep_their_recorded_wire_name() -> None:
    """Histories recorded before the rename carry ``workflow_id``; they must still load, and new payloads
    must still say ``workflow_id`` so running workflows on older workers read them."""
    convert = pydantic_data_converter.payload_converter
    (payload,) = convert.to_payloads([FireDigestResult(total_count=2, execution_id="env/tx-1/at:1")])
    assert b'"workflow_id":"env/tx-1/at:1"' in payload.data
    (loaded,) = convert.from_payloads([payload], [FireDigestResult])
    assert loaded.execution_id == "env/tx-1/at:1"

    for model in (ScheduledRun, FireDigestResult):
        assert model.model_fields["execution_id"].serialization_alias == "workflow_id", model.__name__
        assert "workflow_id" not in model.model_fields  # one name in Python: the one that says which id


def test_workflow_id_is_no_python_name_for_a_temporal_id() -> None:
    """``workflow_id`` was both a Temporal ID and a definition row id; the Temporal one is ``execution_id``."""
    assert not hasattr(models, "workflow_id")


def test_every_workflow_id_column_says_it_is_the_definition_row_id() -> None:
    """The ``workflow_id`` columns hold ``workflow_definitions.id``; the comment above each model field says
    so, and a new such column without it (or holding something else) fails here."""
    from sqlmodel import SQLModel

    import store.models  # noqa: F401  (registers the tables)

    tables = sorted(t.name for t in SQLModel.metadata.tables.values() if "workflow_id" in t.columns)
    assert tables == [
        "execution_details",
        "messages",
        "notifications",
        "subscriber_preferences",
        "workflow_overrides",
    ]
    undocumented = []
    for path in sorted((ROOT / "store" / "models").glob("*.py")):
        lines = path.read_text().splitlines()
        for n, line in enumerate(lines):
            if line.strip().startswith("workflow_id:") and "workflow_definitions.id" not in lines[n - 1]:
                undocumented.append(f"{path.relative_to(ROOT)}:{n + 1}")
    assert undocumented == []
