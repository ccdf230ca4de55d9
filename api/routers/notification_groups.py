"""`/v1/notification-groups` routes (notification-groups)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/notification-groups", tags=["notification-groups"])
