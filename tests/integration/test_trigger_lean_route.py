"""The trigger route's lean handling (api/lean_route.py) answers exactly what FastAPI's own handling of the
same endpoint answers: successes, each kind of refused body, and the order of those refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from api import errors
from api.routers.events import TriggerOut, trigger
from api.wire import Data
from tests.support import Env, Stack

WELCOME = {
    "name": "Lean",
    "notificationGroup": {"name": "General"},
    "active": True,
    "steps": [{"template": {"type": "in_app", "content": "Hi {{name}}"}}],
}


def generic_app(stack: Stack) -> FastAPI:
    """The same endpoint on a plain FastAPI route, sharing the stack's state (database, Temporal, caches)."""
    app = FastAPI()
    app.state = stack.app.state
    errors.install(app)
    router = APIRouter()
    router.add_api_route(
        "/v1/events/trigger",
        trigger,
        methods=["POST"],
        status_code=201,
        response_model=Data[TriggerOut],
        response_model_exclude_unset=True,
    )
    app.include_router(router)
    return app


def cases(name: str, key: str) -> list[tuple[str, dict[str, str], bytes]]:
    auth = {"authorization": f"ApiKey {key}"}
    as_json = {**auth, "content-type": "application/json"}
    return [
        (
            "accepted",
            as_json,
            b'{"name": "%s", "to": "ada", "transactionId": "lean-\xc3\xa9-1"}' % name.encode(),
        ),
        ("unknown workflow", as_json, b'{"name": "nope", "to": "ada"}'),
        ("not JSON", as_json, b'{"name": '),
        ("not JSON, no key", {"content-type": "application/json"}, b'{"name": '),
        ("valid, no key", {"content-type": "application/json"}, b'{"name": "x", "to": "ada"}'),
        ("missing fields", as_json, b'{"payload": {}}'),
        ("wrong types", as_json, b'{"name": 3, "to": true, "payload": []}'),
        ("empty body", as_json, b""),
        ("a JSON array", as_json, b"[1, 2]"),
        ("text/plain", {**auth, "content-type": "text/plain"}, b'{"name": "x", "to": "ada"}'),
        ("no content type", auth, b'{"name": "x", "to": "ada"}'),
        ("+json type", {**auth, "content-type": "application/vnd.api+json"}, b'{"name": "nope", "to": "a"}'),
        ("bad transactionId", as_json, b'{"name": "x", "to": "ada", "transactionId": ""}'),
        ("bad delay", as_json, b'{"name": "x", "to": "ada", "overrides": {"delay": {"amount": -1}}}'),
        ("not UTF-8", as_json, b"\x95\xff{"),
    ]


def answer(resp: httpx.Response) -> tuple[int, str, Any]:
    body = resp.json()
    if isinstance(body, dict):
        body.pop("timestamp", None)
    return resp.status_code, resp.headers.get("content-type", ""), body


@pytest.mark.parametrize("index", range(15))
async def test_the_lean_route_answers_as_fastapi_does(stack: Stack, env: Env, index: int) -> None:
    wf = (await env.http.post("/v1/workflows", json=WELCOME)).json()["data"]
    label, headers, body = cases(wf["triggers"][0]["identifier"], env.key)[index]
    transport = httpx.ASGITransport(app=generic_app(stack))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as generic:
        expected = answer(await generic.post("/v1/events/trigger", content=body, headers=headers))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=stack.app), base_url="http://test"
    ) as lean:
        got = answer(await lean.post("/v1/events/trigger", content=body, headers=headers))
    assert got == expected, label
    if label == "accepted":
        assert got[0] == 201 and got[2]["data"]["transactionId"] == "lean-é-1"


def test_cases_cover_every_index() -> None:
    assert len(cases("x", "k")) == 15
