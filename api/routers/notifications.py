"""`/v1/notifications` routes (notifications)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])
