"""Tidings' own Prometheus metrics (``prometheus-client``), served by the API at ``GET /metrics`` and by
the worker on ``TIDINGS_WORKER_METRICS_PORT``. Names and labels are documented in docs/operations.md.

Label values are bounded sets (status, channel, provider id, outcome), never ids or tenant input.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

TRIGGERS = Counter(
    "tidings_triggers", "Trigger requests answered, by status (processed, error, …).", ["status"]
)
TRIGGER_SECONDS = Histogram(
    "tidings_trigger_seconds",
    "Time to answer POST /v1/events/trigger (checks plus the one Temporal call).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
MESSAGES = Counter(
    "tidings_messages",
    "Messages settled, by channel, status (sent, error) and provider.",
    ["channel", "status", "provider"],
)
PROVIDER_ATTEMPTS = Counter(
    "tidings_provider_attempts",
    "Provider calls, by provider and outcome (success, transient, permanent).",
    ["provider", "outcome"],
)
PROVIDER_FAILOVERS = Counter(
    "tidings_provider_failovers", "Times delivery moved on to the next integration.", ["channel"]
)
SEND_SECONDS = Histogram(
    "tidings_provider_send_seconds",
    "Duration of one provider call.",
    ["provider"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DIGEST_EVENTS = Counter("tidings_digest_events", "Events absorbed into open digest windows.")
WEBHOOK_DELIVERIES = Counter(
    "tidings_webhook_deliveries",
    "Outbound webhook attempts, by outcome (succeeded, retry, disabled, dropped, refused).",
    ["outcome"],
)


def serve(*, host: str, port: int) -> None:
    """Serve Tidings' metrics on ``host:port`` (the worker's metrics port), from a daemon thread."""
    start_http_server(port, addr=host)


def sdk_runtime(*, host: str, port: int) -> Runtime:
    """A Temporal runtime whose SDK metrics are served as Prometheus text on ``host:port``."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"{host}:{port}")))


def exposition() -> tuple[bytes, str]:
    """The current metrics in Prometheus text format, with its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
