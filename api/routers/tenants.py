"""`/v1/tenants` routes (tenants)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])
