"""How big each benchmark runs: the CI scale (``make bench``, < 10 minutes on 2 cores) and the full one."""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass

#: ``time.monotonic()`` by which the run must end (set by ``python -m bench``).
scale_deadline: ContextVar[float] = ContextVar("scale_deadline", default=float("inf"))


def time_left() -> float:
    return scale_deadline.get() - time.monotonic()


@dataclass(frozen=True)
class Scale:
    name: str
    concurrency: int = 64
    accept_seconds: float = 4.0  # per round
    accept_rounds: int = 3  # rounds per side, alternating baseline / Tidings
    latency_requests: int = 150  # per side, alternating in blocks
    latency_block: int = 25
    e2e_triggers: int = 2_000
    e2e_limit: float = 150.0  # seconds per side before delivery is given up
    slow_emails: int = 2_000  # e2e_slow_provider_rate
    slow_limit: float = 400.0  # seconds per side (every email waits 200 ms on the provider)
    fanout_subscribers: int = 10_000
    fanout_limit: float = 240.0  # seconds before the fan-out is given up
    digest_events: int = 2_000
    digest_window_max: float = 300.0
    stall: float = 60.0  # seconds without progress before a wait is given up
    budget: float = 540.0  # seconds for the whole run: later benchmarks shrink their waits to fit


CI = Scale(name="ci")
FULL = Scale(
    name="full",
    accept_seconds=10.0,
    accept_rounds=5,
    latency_requests=500,
    e2e_triggers=20_000,
    e2e_limit=3_600.0,
    slow_emails=10_000,
    slow_limit=3_600.0,
    fanout_subscribers=100_000,
    fanout_limit=1_800.0,
    digest_events=10_000,
    digest_window_max=1_200.0,
    stall=120.0,
    budget=4 * 3600.0,
)

#: A seconds-long run that only checks the harness end to end (``python -m bench --smoke``).
SMOKE = Scale(
    name="smoke",
    accept_seconds=1.0,
    accept_rounds=1,
    latency_requests=20,
    latency_block=10,
    e2e_triggers=50,
    e2e_limit=60.0,
    slow_emails=50,
    slow_limit=60.0,
    fanout_subscribers=600,
    fanout_limit=60.0,
    digest_events=30,
    digest_window_max=60.0,
    stall=20.0,
)
