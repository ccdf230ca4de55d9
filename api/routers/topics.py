"""`/v1/topics` routes (topics)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/topics", tags=["topics"])
