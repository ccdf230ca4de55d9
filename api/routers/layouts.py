"""`/v1/layouts` routes (layouts)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/layouts", tags=["layouts"])
