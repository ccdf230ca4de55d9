"""The ``/inbox`` page in real headless Chromium (Debian's ``chromium``, driven by Playwright): notifications
arrive live without reload, clicking "Mark read" drops the badge, preferences change the v1 rows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from tests.inbox_support import BUTTONS, app_id, in_app_workflow, serve_api
from tests.support import Stack

CHROMIUM = os.environ.get("TIDINGS_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path(os.environ.get("TIDINGS_INBOX_SCREENSHOT", "/tmp/inbox.png"))

pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"needs Chromium at {CHROMIUM}")


async def test_inbox_page_live_read_archive_and_preferences(stack: Stack, temporal_address: str) -> None:
    env = await stack.new_env()
    workflow_id = await in_app_workflow(stack, env, cta=BUTTONS)
    async with serve_api(stack, temporal_address, inbox_page=True) as url, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 900, "height": 640})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{url}/inbox?app={await app_id(env)}&subscriber=pia")
            await expect(page.get_by_test_id("status")).to_have_text("live", timeout=15_000)
            items = page.locator("[data-testid=notification]")
            await expect(items).to_have_count(0)

            for i, name in enumerate(["Ada", "Grace", "Linus"]):
                resp = await env.trigger("comment", "pia", {"name": name}, transactionId=f"tx-page-{i}")
                assert resp.status_code == 201
                # Arrives without a reload: the page learns of it over the socket.
                await expect(items).to_have_count(i + 1, timeout=20_000)
            await expect(items.first).to_contain_text("Hello Linus")
            badge = page.get_by_test_id("badge")
            await expect(badge).to_have_text("3")

            await items.first.locator("button[data-action=read]").click()
            await expect(badge).to_have_text("2")
            await expect(items.first).not_to_have_class("item unread")
            feed = await env.feed("pia")
            assert sorted(m["read"] for m in feed["data"]) == [False, False, True]

            await items.nth(1).locator("button[data-action=archive]").click()
            await expect(items).to_have_count(2)
            await expect(badge).to_have_text("1")
            await page.screenshot(path=str(SCREENSHOT))

            await page.get_by_role("tab", name="Preferences").click()
            toggle = page.locator(".pref[data-workflow=comment] input[data-channel=in_app]")
            await expect(toggle).to_be_checked()
            async with page.expect_response(lambda r: f"/v1/inbox/preferences/{workflow_id}" in r.url):
                await toggle.uncheck()
            prefs = (await env.http.get("/v1/subscribers/pia/preferences")).json()["data"]
            assert next(p for p in prefs if p["template"]["_id"] == workflow_id)["preference"][
                "channels"
            ] == {"in_app": False}
            assert errors == []
        finally:
            await browser.close()


async def test_inbox_page_is_off_unless_enabled(stack: Stack) -> None:
    resp = await stack.http_client().get("/inbox")
    assert resp.status_code == 404 and resp.json()["statusCode"] == 404


async def test_inbox_page_offers_browser_notifications_when_web_push_is_set_up(
    stack: Stack, temporal_address: str
) -> None:
    from activities.providers.webpush import create_vapid_keys
    from tests.fakes.fixtures import add_integration

    env = await stack.new_env()
    await env.http.post("/v1/subscribers", json={"subscriberId": "wren"})
    async with serve_api(stack, temporal_address, inbox_page=True) as url, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 900, "height": 400})
            await page.goto(f"{url}/inbox?app={await app_id(env)}&subscriber=wren")
            await expect(page.get_by_test_id("status")).to_have_text("live", timeout=15_000)
            await expect(page.get_by_test_id("enable-push")).to_be_hidden()  # no web-push integration yet

            await add_integration(
                env, "web-push", "push", {**create_vapid_keys(), "subject": "mailto:a@b.io"}
            )
            await page.reload()
            await expect(page.get_by_test_id("enable-push")).to_be_visible(timeout=15_000)
            await expect(page.get_by_test_id("enable-push")).to_have_text("Enable browser notifications")
            worker = await page.request.get(f"{url}/inbox/sw.js")
            assert worker.ok and "showNotification" in await worker.text()
        finally:
            await browser.close()
