"""`/v1/workflow-overrides` routes (workflow-overrides)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/workflow-overrides", tags=["workflow-overrides"])
