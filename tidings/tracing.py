"""OpenTelemetry traces, on only when an OTLP endpoint is configured by the standard ``OTEL_*`` variables.

One trace runs from ``POST /v1/events/trigger`` (FastAPI instrumentation) through the Temporal workflow
and its activities (``temporalio.contrib.opentelemetry``) to each provider call (a span per call).
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import trace

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

tracer = trace.get_tracer("tidings")


def enabled() -> bool:
    """Whether traces are exported (an OTLP endpoint is set and ``OTEL_SDK_DISABLED`` is not true)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return any(os.environ.get(name) for name in ENDPOINT_VARIABLES)


def configure(service: str) -> bool:
    """Install the global tracer provider with the OTLP/HTTP exporter when :func:`enabled`."""
    if not enabled():
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or service
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return True


def temporal_interceptors(on: bool) -> list[Any]:
    """The Temporal client (and worker) interceptors that carry the trace across workflows."""
    if not on:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]


def instrument_api(app: Any) -> None:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls="metrics,v1/health-check")
