"""A slow Resend (``POST /emails``) on 127.0.0.1 for ``e2e_slow_provider_rate``: ``python -m bench.provider_fake``.

It answers like Resend's API (``200 {"id": …}``, the ``Idempotency-Key`` header honoured for
completed requests) after ``BENCH_PROVIDER_DELAY_MS`` (200 ms by default), the time a real provider API
takes. It runs in its own process so its event loop competes neither with the load generator nor with
the worker; ``GET /count`` says how many distinct emails it accepted.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def build_app(delay: float) -> Starlette:
    answered: dict[str, dict[str, Any]] = {}
    counts = {"requests": 0, "emails": 0}

    async def emails(request: Request) -> JSONResponse:
        counts["requests"] += 1
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return JSONResponse(
                {"statusCode": 401, "name": "missing_api_key", "message": "Missing API key"}, status_code=401
            )
        body = await request.json()
        if not body.get("from") or not body.get("to") or not body.get("subject"):
            return JSONResponse(
                {"statusCode": 422, "name": "validation_error", "message": "Missing required field"},
                status_code=422,
            )
        await asyncio.sleep(delay)
        key = request.headers.get("idempotency-key")
        if key and key in answered:
            return JSONResponse(answered[key])
        answer = {"id": str(uuid.uuid4())}
        counts["emails"] += 1
        if key:
            answered[key] = answer
        return JSONResponse(answer)

    async def count(_request: Request) -> JSONResponse:
        return JSONResponse(counts)

    return Starlette(routes=[Route("/emails", emails, methods=["POST"]), Route("/count", count)])


def main() -> None:
    import uvicorn

    delay = float(os.environ.get("BENCH_PROVIDER_DELAY_MS", "200")) / 1000
    port = int(os.environ["BENCH_PROVIDER_PORT"])
    uvicorn.run(build_app(delay), host="127.0.0.1", port=port, log_level="warning", backlog=2048)


if __name__ == "__main__":
    main()
