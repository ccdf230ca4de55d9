"""A standing fuzz suite (issue 13 item 7): schemathesis sends generated requests for every operation of
Novu's v1 OpenAPI (what Novu's clients may send us) and of Tidings' own ``/openapi.json`` to the API
served over real HTTP, with a valid key. Whatever they send, the answer is never a 5xx; and against Tidings'
own document every answer is what that document says (status code declared, body valid against the declared
response shape or Novu's error body), so ``/openapi.json`` cannot drift from the wire.

Time-boxed: a few examples per operation (``TIDINGS_FUZZ_EXAMPLES``, default 4), no shrinking.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from api.app import create_app
from tests.support import Env, Stack
from tidings.settings import Settings

NOVU_SCHEMA = Path(__file__).parents[1] / "fixtures" / "novu-v1-openapi.json"
EXAMPLES = int(os.environ.get("TIDINGS_FUZZ_EXAMPLES", "4"))
BUDGET = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests every run: a failure here is reproducible
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)

novu = schemathesis.openapi.from_path(NOVU_SCHEMA)
own = schemathesis.openapi.from_dict(create_app(Settings()).openapi())


@pytest.fixture(scope="module")
async def fuzz_key(pg_stack: Stack) -> str:
    """A key of an environment of its own (the live API shares pg_stack's database and worker)."""
    env = await pg_stack.new_env()
    return env.key


#: What Tidings' own document promises about every answer.
OWN_CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def call(case: Any, base_url: str, key: str) -> Any:
    headers = {**(case.headers or {}), "Authorization": f"ApiKey {key}"}
    response = case.call(base_url=base_url, headers=headers, timeout=30)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:300]}\n"
        f"reproduce: {case.as_curl_command(headers=headers)}"
    )
    body = response.text
    assert "Traceback" not in body and 'File "' not in body  # no stack traces, ever
    return response


@novu.parametrize()
@BUDGET
def test_novu_v1_operations_never_5xx(case: Any, live_api: str, fuzz_key: str) -> None:
    call(case, live_api, fuzz_key)


@own.parametrize()
@BUDGET
def test_own_operations_answer_what_the_own_schema_says(case: Any, live_api: str, fuzz_key: str) -> None:
    response = call(case, live_api, fuzz_key)
    case.validate_response(response, checks=OWN_CHECKS)


async def test_values_the_database_refuses_are_a_400(env: Env) -> None:
    """What the fuzzer found first: a NUL character or a huge number reached PostgreSQL and became a 500."""
    nul = await env.http.post("/v1/subscribers", json={"subscriberId": "a\u0000b"})
    assert nul.status_code == 400 and nul.json()["error"] == "Bad Request"
    listed = await env.http.get("/v1/notifications", params={"subscriberIds": "x\u0000y"})
    assert listed.status_code == 400
