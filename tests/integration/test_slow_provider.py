"""A provider that answers slowly — within its timeout — is sent to once.

A channel step's attempt has a 30 s heartbeat timeout (workflows/steps/channel.py) while a provider call may
take up to ``TIDINGS_PROVIDER_TIMEOUT_SECONDS`` per phase. The attempt heartbeats on a timer while it runs
(activities/heartbeat.py); before it did, a send slower than the heartbeat timeout was cancelled mid-flight
and retried: the provider saw the email twice and the message waited for the retry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.conftest import own_pg_stack
from tests.fakes.fixtures import add_integration, details, fake_fixture, http_fakes_fixture  # noqa: F401  (fixtures)
from tests.fakes.http_api import FakeHttpProviders
from tests.support import Mailbox, Stack

#: Longer than the step's heartbeat timeout (30 s), shorter than this stack's provider timeout.
PROVIDER_SECONDS = 33.0


@pytest.fixture(scope="module")
async def patient(
    pg_url: str, temporal_env: WorkflowEnvironment, mailbox: Mailbox, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """A stack whose provider calls may take 60 s, as an operator with a slow provider would set it."""
    async with own_pg_stack(
        "patient", pg_url, temporal_env, mailbox, tmp_path_factory, provider_timeout_seconds=60.0
    ) as stack:
        yield stack


async def test_a_send_slower_than_the_heartbeat_timeout_goes_out_once(
    patient: Stack, fake: FakeHttpProviders
) -> None:
    env = await patient.new_env()
    resend = await add_integration(
        env, "resend", "email", {"apiKey": "re_slow", "baseUrl": fake.url, "from": "a@acme.io"}
    )
    assert (await env.http.post(f"/v1/integrations/{resend['_id']}/set-primary")).status_code == 200
    fake.latency = PROVIDER_SECONDS
    resp = await env.trigger(
        "welcome",
        {"subscriberId": "slow", "email": "slow@example.com"},
        {"name": "S"},
        transactionId="slow-1",
    )
    assert resp.status_code == 201, resp.text
    await env.settle("slow-1", timeout=150)
    assert len(fake.to("/emails")) == 1  # one request: the attempt was not cancelled and re-sent
    (msg,) = await env.sql(
        "select status from messages where transaction_id = 'slow-1' and channel = 'email'"
    )
    assert msg.status == "sent"
    rows = await details(env, "slow-1")
    assert [r.detail for r in rows if r.detail == "Message sent"] == ["Message sent"]
    assert not [r for r in rows if r.status == "Failed"]
