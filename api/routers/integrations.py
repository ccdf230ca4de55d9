"""`/v1/integrations` routes (integrations)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/integrations", tags=["integrations"])
