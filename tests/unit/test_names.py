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
