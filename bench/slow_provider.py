"""``e2e_slow_provider_rate``: emails per second through an HTTP provider that answers after 200 ms.

Tidings: N triggers of a one-step email workflow at the run's concurrency, through the live API, to one
subscriber with an email address; the email integration is Resend, whose API is served on 127.0.0.1 by
``bench/provider_fake.py`` (200 ms per answer). Counted: email message rows marked ``sent`` (the
provider answered and the row was settled). Baseline, same run, same concurrency: a bare workflow whose
one remote activity sleeps 200 ms and stores one message row (``bench/baseline.py``, ``BenchSlowOne``).
"""

from __future__ import annotations

import secrets
from typing import Any

from bench.baseline import SLOW_ONE, InsertInput
from bench.delivery import bare_starts, race_sides
from bench.load import wait_for_count
from bench.results import Row
from bench.scale import Scale
from bench.stack import EMAIL_WORKFLOW, Stack, worker_hint

MAIL_SUBSCRIBER = "bench-mail"


def email_body(transaction_id: str, *, to: Any = MAIL_SUBSCRIBER) -> dict[str, Any]:
    return {"name": EMAIL_WORKFLOW, "to": to, "payload": {"name": "Ada"}, "transactionId": transaction_id}


async def count_sent(stack: Stack, like: str) -> int:
    rows = await stack.sql(
        "SELECT count(*) FROM messages WHERE environment_id = :e AND transaction_id LIKE :p "
        "AND channel = 'email' AND status = 'sent'",
        e=stack.env_id,
        p=like,
    )
    return int(rows[0][0])


async def add_integration(stack: Stack) -> None:
    """A primary, active Resend integration through the API (credentials encrypted as in production)."""
    async with stack.http(stack.live_url, 1) as http:
        resp = await http.post(
            "/v1/integrations",
            json={
                "providerId": "resend",
                "channel": "email",
                "name": "Bench Resend",
                "credentials": {"apiKey": "re_bench", "from": "bench@example.com", "senderName": "Bench"},
                "active": True,
                "check": False,
            },
        )
        if resp.status_code not in (200, 201):
            raise RuntimeError(f"POST /v1/integrations answered {resp.status_code}: {resp.text[:200]}")
        integration_id = resp.json()["data"]["_id"]
        await http.post(f"/v1/integrations/{integration_id}/set-primary", json={})


async def slow_provider_rate(stack: Stack, scale: Scale, row: Row) -> None:
    n, c = scale.slow_emails, scale.concurrency
    run = secrets.token_hex(3)
    await add_integration(stack)
    http = stack.clients(stack.live_url, c)
    try:
        # Warm both sides (and create the subscriber with its address, once).
        warm = f"slow-warm-{run}"
        to = {"subscriberId": MAIL_SUBSCRIBER, "email": "ada@example.com"}
        resp = await http.post("/v1/events/trigger", json=email_body(warm, to=to))
        if resp.status_code != 201:
            row.fail(f"email trigger answered HTTP {resp.status_code}: {resp.text[:200]}")
            return
        got = await wait_for_count(lambda: count_sent(stack, warm), 1, stall=60, limit=60)
        if not got.reached:
            row.fail("the warm-up email was not sent within 60 s" + worker_hint(stack))
            return
        await stack.client.execute_workflow(
            SLOW_ONE,
            InsertInput(
                environment_id=stack.env_id, subscriber_id=stack.subscriber_pk, transaction_id=warm + "b"
            ),
            id=f"slowb-warm-{run}",
            task_queue=stack.baseline_queue,
        )

        baseline = bare_starts(stack, SLOW_ONE, f"slowb-{run}")

        async def tidings(i: int) -> bool:
            resp = await http.post("/v1/events/trigger", json=email_body(f"slowt-{run}-{i}"))
            return resp.status_code == 201

        async def stored(prefix: str) -> int:
            if prefix == "slowb":
                return await stack.count_messages(like=f"{prefix}-{run}-%")
            return await count_sent(stack, f"{prefix}-{run}-%")

        results = await race_sides(
            stack,
            row,
            [("baseline", baseline, "slowb"), ("tidings", tidings, "slowt")],
            stored,
            n=n,
            concurrency=c,
            run=run,
            stall=scale.stall,
            limit=scale.slow_limit,
            verb="sent",
        )
        async with stack.http(stack.provider_url, 1) as fake:
            provider = (await fake.get("/count")).json()
        row.extra = {
            "emails": n,
            "provider_delay_ms": 200,
            "provider_counts": provider,
            **{f"{k}_detail": {kk: vv for kk, vv in v.items() if kk != "rate"} for k, v in results.items()},
        }
    finally:
        await http.aclose()
