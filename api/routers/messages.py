"""`/v1/messages` routes (messages)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/messages", tags=["messages"])
