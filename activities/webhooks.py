"""Sending one outbound webhook, signed per Standard Webhooks (https://www.standardwebhooks.com).

Headers: ``webhook-id`` (``msg_<deliveryId>``, the same on every retry so receivers de-duplicate),
``webhook-timestamp`` (seconds) and ``webhook-signature`` = ``v1,`` + base64 HMAC-SHA256, keyed by the
base64-decoded part of the ``whsec_`` secret, over ``"{id}.{timestamp}.{body}"``. Only the status code
of an answer is kept, never the remote body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from store.crypto import CredentialCipher
from store.db import Database, utcnow
from store.webhooks import (
    disable_endpoint,
    endpoint_secret,
    load_for_delivery,
    record_attempt,
    set_delivery_status,
    webhook_id,
)
from tidings.metrics import WEBHOOK_DELIVERIES
from tidings.outbound import DestinationRefused, destination_refusal, outbound_client
from workflows.webhook import GIVE_UP_WEBHOOK, SEND_WEBHOOK, WebhookDeliveryInput, WebhookGiveUpInput


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one message."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def encode_body(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


class WebhookActivities:
    """Built once per worker; ``worker.py`` registers the bound methods."""

    def __init__(
        self,
        *,
        db: Database,
        cipher: CredentialCipher,
        allow_private: bool = False,
        timeout: float = 15.0,
        retry_initial: float = 5.0,
        retry_max: float = 3600.0,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.allow_private = allow_private
        self.timeout = timeout
        self.retry_initial = retry_initial
        self.retry_max = retry_max

    def retry_delay(self, attempt: int) -> float:
        return float(min(self.retry_initial * 2 ** max(0, attempt - 1), self.retry_max))

    @activity.defn(name=SEND_WEBHOOK)
    async def send_webhook(self, request: WebhookDeliveryInput) -> str:
        """One attempt; raises (retryable, with the next delay) unless the endpoint answered 2xx or 410."""
        async with self.db.session() as session:
            delivery, endpoint = await load_for_delivery(session=session, delivery_id=request.delivery_id)
        if delivery is None:
            return "missing"
        if delivery.status == "succeeded":
            return "succeeded"
        if endpoint is None or not endpoint.active:
            async with self.db.session() as session:
                await set_delivery_status(
                    session=session, delivery_id=delivery.id, status="dropped", error="endpoint inactive"
                )
            WEBHOOK_DELIVERIES.labels("dropped").inc()
            return "dropped"
        refusal = await destination_refusal(endpoint.url, allow_private=self.allow_private)
        if refusal is not None:
            async with self.db.session() as session:
                await record_attempt(
                    session=session, delivery_id=delivery.id, status="failed", status_code=None, error=refusal
                )
            WEBHOOK_DELIVERIES.labels("refused").inc()
            return "failed"
        body = encode_body(delivery.body)
        msg_id = webhook_id(delivery.id)
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": "Tidings-Webhooks/1",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(endpoint_secret(endpoint, self.cipher), msg_id, timestamp, body),
        }
        code: int | None = None
        error: str | None = None
        try:
            async with outbound_client(allow_private=self.allow_private, timeout=self.timeout) as client:
                response = await client.post(endpoint.url, content=body, headers=headers)
            code = response.status_code
        except DestinationRefused as exc:
            error = str(exc)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: request to the endpoint failed"
        if code is not None and 200 <= code < 300:
            async with self.db.session() as session:
                await record_attempt(
                    session=session, delivery_id=delivery.id, status="succeeded", status_code=code, error=None
                )
            WEBHOOK_DELIVERIES.labels("succeeded").inc()
            return "succeeded"
        if code == 410:
            async with self.db.session() as session:
                await record_attempt(
                    session=session,
                    delivery_id=delivery.id,
                    status="failed",
                    status_code=code,
                    error="endpoint answered 410 Gone; endpoint disabled",
                )
                await disable_endpoint(
                    session=session, endpoint=endpoint, reason="the endpoint answered 410 Gone"
                )
            WEBHOOK_DELIVERIES.labels("disabled").inc()
            return "disabled"
        error = error or f"endpoint answered HTTP {code}"
        delay = self.retry_delay(activity.info().attempt)
        async with self.db.session() as session:
            await record_attempt(
                session=session,
                delivery_id=delivery.id,
                status="pending",
                status_code=code,
                error=error,
                next_attempt_at=utcnow() + timedelta(seconds=delay),
            )
        WEBHOOK_DELIVERIES.labels("retry").inc()
        raise ApplicationError(error, type="WebhookDeliveryFailed", next_retry_delay=timedelta(seconds=delay))

    @activity.defn(name=GIVE_UP_WEBHOOK)
    async def give_up_webhook(self, request: WebhookGiveUpInput) -> None:
        async with self.db.session() as session:
            await set_delivery_status(
                session=session,
                delivery_id=request.delivery_id,
                status="failed",
                error=f"gave up: {request.reason}",
            )
