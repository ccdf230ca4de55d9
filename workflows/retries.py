"""Every retry policy the workflows use, by what the activity does (one home; workflow-safe)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

#: Database work (local activities: details, conditions, recipients, digest/throttle/delay bookkeeping).
#: Retried until it succeeds; a database blip must not lose a notification.
DATABASE = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))

#: A provider call: permanent failures are non-retryable errors; transient ones back off up to a minute.
PROVIDER = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=60), maximum_attempts=10
)

#: Firing a closed digest window (starts the digested steps); patient, since the window already closed.
DIGEST_FIRE = RetryPolicy(
    initial_interval=timedelta(milliseconds=500), maximum_interval=timedelta(seconds=30)
)


def custom_step(max_attempts: int) -> RetryPolicy:
    """A user's custom activity: its own attempt budget (at least one)."""
    return RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=max(1, max_attempts),
    )
