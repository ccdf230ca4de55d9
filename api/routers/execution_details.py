"""`/v1/execution-details` routes (execution-details)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/execution-details", tags=["execution-details"])
