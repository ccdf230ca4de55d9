"""`/v1/feeds` routes (feeds)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/feeds", tags=["feeds"])
