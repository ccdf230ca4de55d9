"""SSRF (issue 13 row 4): tenant-chosen destinations never reach loopback, private or metadata addresses.

The worker of ``guarded`` runs with ``TIDINGS_ALLOW_PRIVATE_DESTINATIONS`` off (the suite's default stacks
turn it on because the provider fakes live on 127.0.0.1). A raw TCP listener on loopback counts every
connection: a refused destination must leave it at zero.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.providers.base import ChatMessage, ProviderError, SmsMessage
from activities.providers.chat import SlackProvider
from activities.providers.http import classify
from activities.providers.sms import GenericSmsProvider
from tests.conftest import own_pg_stack
from tests.fakes.fixtures import add_integration, add_workflow, details, set_channels
from tests.support import Env, Mailbox, Stack
from tidings.outbound import DestinationRefused, outbound_client, refusal


class Listener:
    """A TCP server on 127.0.0.1 that answers every request with ``answer`` and counts connections."""

    def __init__(self, answer: bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}") -> None:
        self.answer = answer
        self.connections = 0
        self.port = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Listener:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: Any) -> None:
        assert self.server is not None
        self.server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(self.answer)
        await writer.drain()
        writer.close()


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.5.4", "192.168.1.1", "100.64.0.1", "169.254.169.254",
     "0.0.0.0", "224.0.0.1", "::1", "::", "fd00:ec2::254", "fc00::1", "fe80::1", "::ffff:127.0.0.1",
     "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "2002:7f00:1::"],
)  # fmt: skip
def test_forbidden_addresses(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "[::1]", "10.0.0.1", "169.254.169.254", "0.0.0.0"]
)
async def test_client_refuses_before_connecting(host: str) -> None:
    async with Listener() as listener, outbound_client(allow_private=False, timeout=2) as client:
        with pytest.raises(DestinationRefused, match="resolves to a"):
            await client.post(f"http://{host}:{listener.port}/hook", json={"x": 1})
        assert listener.connections == 0
    # The same call with the setting on reaches a loopback listener: the refusal above is the guard.
    async with Listener() as listener, outbound_client(allow_private=True, timeout=2) as client:
        assert (await client.post(f"http://127.0.0.1:{listener.port}/hook")).status_code == 200
        assert listener.connections == 1


async def test_redirect_to_loopback_is_refused_on_every_hop() -> None:
    async with Listener() as target:
        location = f"http://localhost:{target.port}/internal".encode()
        redirect = b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n"
        async with Listener(redirect) as public:
            # ``public`` plays an internet host: its pair is trusted, the hop it redirects to is not.
            trusted = [("127.0.0.1", public.port)]
            async with outbound_client(allow_private=False, trusted=trusted, timeout=2) as client:
                url = f"http://127.0.0.1:{public.port}/start"
                with pytest.raises(DestinationRefused):
                    await client.get(url, follow_redirects=True)
                assert public.connections == 1 and target.connections == 0
                # Adapters do not follow at all: the redirect is a failed send.
                provider = SlackProvider(client=client)
                with pytest.raises(ProviderError, match="redirect not followed") as caught:
                    await provider.send(ChatMessage(webhook_url=url, content="hi"), {})
                assert caught.value.permanent
            assert target.connections == 0


async def test_adapters_refuse_tenant_urls_with_a_permanent_error() -> None:
    async with Listener() as listener:
        sms = GenericSmsProvider(allow_private=False)
        for base in (f"http://127.0.0.1:{listener.port}", f"http://localhost:{listener.port}/x"):
            with pytest.raises(ProviderError, match="destination refused") as caught:
                await sms.send(
                    SmsMessage(to="+1", content="hi"),
                    {"baseUrl": base, "apiKey": "k", "apiKeyRequestHeader": "X-Redis"},
                )
            assert caught.value.permanent
        assert listener.connections == 0


def test_remote_error_bodies_are_not_kept() -> None:
    import httpx

    leak = "<html>internal admin page: redis_password=hunter2</html>"
    error = classify(httpx.Response(403, text=leak))
    assert str(error) == "HTTP 403 Forbidden" and error.permanent
    coded = classify(httpx.Response(401, json={"error": "invalid_auth", "detail": leak}))
    assert str(coded) == "HTTP 401 Unauthorized (invalid_auth)"
    assert "hunter2" not in str(classify(httpx.Response(502, json={"error": leak})))


@pytest.fixture(scope="module")
async def guarded(
    pg_url: str, temporal_env: WorkflowEnvironment, mailbox: Mailbox, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """A stack (API + worker) with private destinations refused, as in production."""
    async with own_pg_stack(
        "guarded", pg_url, temporal_env, mailbox, tmp_path_factory, allow_private_destinations=False
    ) as stack:
        yield stack


async def test_worker_refuses_private_webhook_and_base_url(guarded: Stack) -> None:
    env: Env = await guarded.new_env()
    async with Listener() as listener:
        await add_integration(env, "slack", "chat", {})
        await add_integration(
            env,
            "generic-sms",
            "sms",
            {"baseUrl": f"http://localhost:{listener.port}/sms", "apiKey": "k", "apiKeyRequestHeader": "X-K"},
        )
        await add_workflow(
            env, "hook", [{"type": "chat", "content": "Hi {{n}}"}, {"type": "sms", "content": "Hi {{n}}"}]
        )
        secret_url = f"http://127.0.0.1:{listener.port}/slack/T1/B1/hook-secret"
        await set_channels(
            env,
            "ssrf",
            [{"providerId": "slack", "credentials": {"webhookUrl": secret_url}}],
            phone="+15550001",
        )
        resp = await env.trigger("hook", "ssrf", {"n": 1}, transactionId="ssrf-1")
        assert resp.status_code == 201, resp.text
        await env.settle("ssrf-1")
        assert listener.connections == 0
    rows = await details(env, "ssrf-1")
    refused = [r for r in rows if "destination refused" in str(r.raw)]
    attempts = [r for r in refused if "outcome" in r.raw]
    assert {r.raw["providerId"] for r in attempts} == {"slack", "generic-sms"}
    assert all(r.status == "Failed" and r.raw["outcome"] == "permanent" for r in attempts)
    assert all("hook-secret" not in str(r.raw) for r in rows)
    # The operator's own SMTP relay (private, but configured by the operator) still delivers.
    await env.trigger("welcome", {"subscriberId": "ok", "email": "ok@example.com"}, {"name": "Ok"})
    assert len(await guarded.mailbox.wait_for(1, "ok@example.com")) == 1


async def test_worker_refuses_tenant_smtp_host_on_loopback(guarded: Stack) -> None:
    env: Env = await guarded.new_env()
    async with Listener() as listener:
        listed = (await env.http.get("/v1/integrations")).json()["data"]
        smtp = next(i for i in listed if i["providerId"] == "nodemailer")
        resp = await env.http.put(
            f"/v1/integrations/{smtp['_id']}",
            json={"credentials": {"host": "localhost", "port": listener.port, "from": "a@acme.io"}},
        )
        assert resp.status_code == 200
        await env.trigger(
            "welcome", {"subscriberId": "sm", "email": "sm@example.com"}, {"name": "S"}, transactionId="sm-1"
        )
        await env.settle("sm-1")
        assert listener.connections == 0
    rows = await details(env, "sm-1")
    assert any("destination refused" in str(r.raw) for r in rows)


async def test_generic_sms_header_names_cannot_steer_the_request() -> None:
    sms = GenericSmsProvider(allow_private=True)
    for reserved in ("Host", "Transfer-Encoding", "content-length"):
        with pytest.raises(ProviderError, match="may not be") as caught:
            await sms.send(
                SmsMessage(to="+1", content="hi"),
                {"baseUrl": "http://127.0.0.1:9/x", "apiKey": "k", "apiKeyRequestHeader": reserved},
            )
        assert caught.value.permanent
