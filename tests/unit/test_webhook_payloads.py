"""The outbound webhook event data, byte for byte: consumers parse these documents, and moving their builder
(issue 16: out of store/ and api/views.py into tidings/webhook_payloads.py) must not change one key."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from tidings.webhook_payloads import message_data, subscriber_data, workflow_completed_data, workflow_data
from workflows.models import TransactionCompleted


def wire(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"))


def test_message_events_carry_the_ids_a_consumer_joins_on_in_a_fixed_order() -> None:
    data = message_data(
        message_id="m1",
        transaction_id="tx-1",
        subscriber_id="ada",
        workflow="welcome",
        step_id="email-step",
        channel="email",
        provider_id="sendgrid",
        error="rejected",
    )
    assert wire(data) == (
        '{"_id":"m1","transactionId":"tx-1","subscriberId":"ada","workflowId":"welcome",'
        '"stepId":"email-step","channel":"email","providerId":"sendgrid","error":"rejected"}'
    )


def test_subscriber_and_workflow_events() -> None:
    sub: Any = SimpleNamespace(id="row-1", subscriber_id="ada")
    assert wire(subscriber_data(sub)) == '{"subscriberId":"ada","_id":"row-1"}'
    row: Any = SimpleNamespace(id="def-1", trigger_identifier="welcome", name="Welcome")
    assert wire(workflow_data(row)) == '{"_id":"def-1","workflowId":"welcome","name":"Welcome"}'
    assert workflow_data(row, "old-welcome")["workflowId"] == "old-welcome"


def test_workflow_completed_sums_the_steps_counts() -> None:
    done = TransactionCompleted(
        environment_id="env",
        transaction_id="tx-1",
        workflow="welcome",
        subscribers=2,
        steps={"email": {"sent": 2, "failed": 1}, "sms": {"filtered": 1, "sent": 1}},
    )
    assert wire(workflow_completed_data(done)) == (
        '{"transactionId":"tx-1","workflowId":"welcome","status":"completed","subscribers":2,'
        '"counts":{"sent":3,"failed":1,"filtered":1},'
        '"steps":{"email":{"sent":2,"failed":1},"sms":{"filtered":1,"sent":1}},"resumed":false}'
    )
