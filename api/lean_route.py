"""``LeanRoute``: the trigger route's request handling without FastAPI's generic per-request machinery.

``POST /v1/events/trigger`` is the one route called thousands of times a second. FastAPI spends more of
the API's CPU on it than the route itself: solving the dependency tree (the environment, the documenting
``Security`` scheme under it, the request), telemetry hooks, and validating the returned dict against the
response model only to serialize it again. A custom ``APIRoute.get_route_handler`` (FastAPI's documented
extension point for custom request handling) does the same steps directly:

1. the body is read and decoded as FastAPI does it (a JSON content type; invalid JSON is the same
   ``json_invalid`` validation error);
2. the environment comes from :func:`api.deps.current_environment`, as the ``CurrentEnv`` dependency does;
3. the body is validated by FastAPI's own ``request_body_to_args`` against the route's body model, so
   errors are the same ``RequestValidationError`` for :mod:`api.errors` to answer;
4. the endpoint's dict is sent as JSON with the route's status code. The response model still documents
   it in ``/openapi.json``; it is not re-validated (``tests/unit/test_lean_route.py`` holds the answers to
   it, and schemathesis checks the live answers against the document).

Everything around the handler is unchanged: the middleware (door guard, rate limits, idempotency keys),
routing, and the exception handlers of :mod:`api.errors`.
"""

from __future__ import annotations

import email.message
import inspect
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi._compat import Undefined
from fastapi.dependencies.utils import request_body_to_args
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.routing import APIRoute

from api.deps import current_environment

#: The endpoint's parameters, by name: the validated body, the caller's environment, the request.
PARAMETERS = ["body", "env", "request"]


def is_json(content_type: str | None) -> bool:
    """FastAPI's test: ``application/json`` or ``application/*+json`` (no content type: not JSON)."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def json_body(raw: bytes, content_type: str | None) -> Any:
    """The request body as FastAPI hands it to validation: decoded JSON, the raw bytes, or ``Undefined``."""
    if not raw:
        return Undefined
    if not is_json(content_type):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:
        error = {"type": "json_invalid", "loc": ("body", e.pos), "msg": "JSON decode error", "input": {}}
        raise RequestValidationError([{**error, "ctx": {"error": e.msg}}], body=e.doc) from e


class LeanRoute(APIRoute):
    """For an endpoint ``async def f(body: Model, env: CurrentEnv, request: Request) -> dict``."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if list(inspect.signature(endpoint).parameters) != PARAMETERS:
            raise TypeError(f"a LeanRoute endpoint takes exactly ({', '.join(PARAMETERS)})")
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint
        body_field = self.body_field
        status_code = self.status_code or 200
        assert body_field is not None, "a LeanRoute has a body"

        async def handler(request: Request) -> Response:
            # The order of FastAPI's errors: undecodable JSON, then authentication, then validation.
            try:
                received = json_body(await request.body(), request.headers.get("content-type"))
            except RequestValidationError:
                raise
            except Exception as e:  # as FastAPI answers a body it cannot read (not UTF-8 …)
                raise HTTPException(status_code=400, detail="There was an error parsing the body") from e
            env = await current_environment(request)
            values, errors = await request_body_to_args([body_field], received, embed_body_fields=False)
            if errors:
                raise RequestValidationError(errors, body=None if received is Undefined else received)
            result = await endpoint(body=values[body_field.name], env=env, request=request)
            content = json.dumps(result, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
            return Response(content.encode(), status_code=status_code, media_type="application/json")

        return handler
