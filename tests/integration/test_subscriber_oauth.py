"""Chat OAuth (Slack) against a fake Slack OAuth server on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.app import create_app
from api.routers.subscriber_oauth import NONCE_COOKIE
from store.hmac_keys import subscriber_hash
from tests.integration.test_subscribers import add_integration
from tests.support import Env, Stack
from tidings.devserver import free_port
from tidings.oauth import sign_state


class FakeSlack:
    """Speaks ``POST /api/oauth.v2.access``: code ``good`` yields an incoming webhook."""

    def __init__(self) -> None:
        self.exchanges: list[dict[str, str]] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    async def access(self, request: Request) -> JSONResponse:
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        self.exchanges.append(form)
        if form.get("code") != "good" or form.get("client_secret") != "shh":
            return JSONResponse({"ok": False, "error": "invalid_code"})
        return JSONResponse(
            {
                "ok": True,
                "incoming_webhook": {"url": "https://hooks.slack.test/T1/B1/xyz", "channel": "#general"},
            }
        )

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/api/oauth.v2.access", self.access, methods=["POST"])])


@pytest.fixture(scope="module")
def fake_slack() -> Iterator[FakeSlack]:
    slack = FakeSlack()
    server = uvicorn.Server(
        uvicorn.Config(slack.app(), host="127.0.0.1", port=slack.port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "fake Slack did not start"
        time.sleep(0.02)
    yield slack
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
async def public_client(stack: Stack, fake_slack: FakeSlack) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose Slack base URL is the fake, reached without any API key."""
    settings = stack.settings.model_copy(
        update={"slack_oauth_base_url": fake_slack.url, "public_url": "http://tidings.test"}
    )
    app = create_app(settings, db=stack.db, temporal=stack.client)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://tidings.test"
        ) as client:
            yield client


async def start(client: httpx.AsyncClient, env: Env, sid: str, **params: Any) -> dict[str, str]:
    params = {"environmentId": env.id, "hmacHash": subscriber_hash(env.key, sid), **params}
    resp = await client.get(f"/v1/subscribers/{sid}/credentials/slack/oauth", params=params)
    assert resp.status_code == 302, resp.text
    location = urlsplit(resp.headers["location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    return {"path": location.path, "origin": f"{location.scheme}://{location.netloc}", **query}


def back(callback: str, **params: str) -> httpx.URL:
    """Where Slack sends the browser back: our callback URL plus ``code`` and ``state``."""
    return httpx.URL(callback).copy_merge_params(params)


async def test_slack_oauth_stores_the_webhook(
    env: Env, stack: Stack, public_client: httpx.AsyncClient, fake_slack: FakeSlack
) -> None:
    await add_integration(stack, env, "slack", "chat", clientId="client-1", secretKey="shh")
    await env.http.post("/v1/subscribers", json={"subscriberId": "olga"})

    redirect = await start(public_client, env, "olga")
    assert redirect["origin"] == fake_slack.url and redirect["path"] == "/oauth/v2/authorize"
    assert redirect["client_id"] == "client-1" and redirect["scope"] == "incoming-webhook"
    callback = redirect["redirect_uri"]
    assert callback.startswith("http://tidings.test/v1/subscribers/olga/credentials/slack/oauth/callback?")

    done = await public_client.get(back(callback, code="good", state=redirect["state"]))
    assert done.status_code == 200, done.text
    assert "Slack is connected" in done.text and done.headers["content-type"].startswith("text/html")
    assert fake_slack.exchanges[-1] == {
        "client_id": "client-1",
        "client_secret": "shh",
        "code": "good",
        "redirect_uri": callback,
    }
    [channel] = (await env.http.get("/v1/subscribers/olga")).json()["data"]["channels"]
    assert channel["providerId"] == "slack"
    assert channel["credentials"] == {
        "webhookUrl": "https://hooks.slack.test/T1/B1/xyz",
        "channel": "#general",
    }


async def test_slack_oauth_redirects_and_refuses(
    env: Env, stack: Stack, public_client: httpx.AsyncClient
) -> None:
    await add_integration(
        stack,
        env,
        "slack",
        "chat",
        identifier="slack-app",
        clientId="c2",
        secretKey="shh",
        redirectUrl="https://app.example/done",
    )
    await env.http.post("/v1/subscribers", json={"subscriberId": "pia"})
    redirect = await start(public_client, env, "pia", integrationIdentifier="slack-app")
    assert "integrationIdentifier=slack-app" in redirect["redirect_uri"]

    forged = await public_client.get(back(redirect["redirect_uri"], code="good", state="0" * 64))
    assert forged.status_code == 400
    refused = await public_client.get(back(redirect["redirect_uri"], code="bad", state=redirect["state"]))
    assert (
        refused.status_code == 400
        and refused.json()["message"] == "Slack OAuth exchange failed: invalid_code"
    )
    assert (await env.http.get("/v1/subscribers/pia")).json()["data"]["channels"] == []

    ok = await public_client.get(back(redirect["redirect_uri"], code="good", state=redirect["state"]))
    assert ok.status_code == 302 and ok.headers["location"] == "https://app.example/done"

    no_env = await public_client.get("/v1/subscribers/pia/credentials/slack/oauth")
    assert no_env.status_code == 400 and no_env.json()["message"] == ["environmentId must be a mongodb id"]
    other = await stack.new_env()
    await other.http.post("/v1/subscribers", json={"subscriberId": "pia"})
    no_integration = await public_client.get(
        "/v1/subscribers/pia/credentials/slack/oauth",
        params={"environmentId": other.id, "hmacHash": subscriber_hash(other.key, "pia")},
    )
    assert no_integration.status_code == 400
    assert (
        no_integration.json()["message"]
        == f"Subscribers environment ({other.id}) do not have active slack integration."
    )


async def test_oauth_start_needs_the_subscriber_hmac(
    env: Env, stack: Stack, public_client: httpx.AsyncClient, fake_slack: FakeSlack
) -> None:
    """Issue 13 row 9: without auth anyone could attach their own Slack channel to any subscriber."""
    await add_integration(stack, env, "slack", "chat", clientId="c3", secretKey="shh")
    await env.http.post("/v1/subscribers", json={"subscriberId": "vic"})
    url = "/v1/subscribers/vic/credentials/slack/oauth"
    other = await stack.new_env()
    for params in (
        {},
        {"hmacHash": "0" * 64},
        {"hmacHash": subscriber_hash(other.key, "vic")},  # another environment's key
        {"hmacHash": subscriber_hash(env.key, "someone-else")},
    ):
        resp = await public_client.get(url, params={"environmentId": env.id, **params})
        assert resp.status_code == 401, (params, resp.text)
        assert resp.json()["error"] == "Unauthorized" and "location" not in resp.headers
    ghost = await public_client.get(
        "/v1/subscribers/ghost/credentials/slack/oauth",
        params={"environmentId": env.id, "hmacHash": subscriber_hash(env.key, "ghost")},
    )
    assert ghost.status_code == 400 and ghost.json()["message"] == "SubscriberId: ghost not found"
    # The backend may start it with its API key instead of a hash.
    keyed = await public_client.get(
        url, params={"environmentId": env.id}, headers={"Authorization": f"ApiKey {env.key}"}
    )
    assert keyed.status_code == 302
    foreign = await public_client.get(
        url, params={"environmentId": env.id}, headers={"Authorization": f"ApiKey {other.key}"}
    )
    assert foreign.status_code == 401


async def test_oauth_state_is_bound_to_browser_subscriber_and_time(
    env: Env, stack: Stack, public_client: httpx.AsyncClient, fake_slack: FakeSlack
) -> None:
    await add_integration(stack, env, "slack", "chat", clientId="c4", secretKey="shh")
    for sid in ("ann", "bob"):
        await env.http.post("/v1/subscribers", json={"subscriberId": sid})
    redirect = await start(public_client, env, "ann")
    nonce = public_client.cookies.get(NONCE_COOKIE)
    assert nonce and redirect["state"].count(".") == 1
    # The same link opened in another browser (no nonce cookie): refused, nothing exchanged.
    exchanges = len(fake_slack.exchanges)
    async with httpx.AsyncClient(transport=public_client._transport, base_url="http://tidings.test") as other:
        replay = await other.get(back(redirect["redirect_uri"], code="good", state=redirect["state"]))
    assert replay.status_code == 400 and len(fake_slack.exchanges) == exchanges
    # ann's state on bob's callback: refused.
    bob_callback = redirect["redirect_uri"].replace("/ann/", "/bob/")
    assert (
        await public_client.get(back(bob_callback, code="good", state=redirect["state"]))
    ).status_code == 400
    # An expired state, even correctly signed and in the right browser: refused.
    expired = sign_state(
        stack.settings.resolved_secret_key(),
        environment_id=env.id,
        subscriber_id="ann",
        provider_id="slack",
        nonce=nonce,
        expires_at=int(time.time()) - 1,
    )
    assert (
        await public_client.get(back(redirect["redirect_uri"], code="good", state=expired))
    ).status_code == 400
    assert (await env.http.get("/v1/subscribers/ann")).json()["data"]["channels"] == []
    done = await public_client.get(back(redirect["redirect_uri"], code="good", state=redirect["state"]))
    assert done.status_code == 200
