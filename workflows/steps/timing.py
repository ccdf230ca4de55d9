"""Pure time arithmetic shared by the delay, digest and throttle steps (workflow-safe: no clock, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from workflows.paths import get_path

#: Real conversions (Novu's ``toMilliseconds`` treats weeks and months as seconds). A month is 30 days,
#: so a window never depends on the calendar or a timezone.
UNIT_SECONDS = {
    "seconds": 1,
    "minutes": 60,
    "hours": 3600,
    "days": 86400,
    "weeks": 7 * 86400,
    "months": 30 * 86400,
}


class TimingError(ValueError):
    """A delay, digest or throttle configuration that cannot be evaluated."""


def duration(amount: Any, unit: Any) -> timedelta:
    """``amount unit`` as a timedelta; unknown units and negative or non-numeric amounts are errors."""
    if unit not in UNIT_SECONDS:
        raise TimingError(f"Unknown unit {unit!r}")
    try:
        value = float(amount)
    except (TypeError, ValueError) as exc:
        raise TimingError(f"Invalid amount {amount!r}") from exc
    if value < 0:
        raise TimingError(f"Invalid amount {amount!r}")
    return timedelta(seconds=value * UNIT_SECONDS[unit])


def regular_duration(metadata: dict[str, Any], overrides: dict[str, Any]) -> timedelta:
    """``amount * unit``; a trigger's ``overrides.delay = {amount, unit}`` replaces it (Novu)."""
    override = overrides.get("delay")
    source: dict[str, Any] = override if isinstance(override, dict) else metadata
    return duration(source.get("amount", 0), source.get("unit") or "seconds")


def payload_value(payload: dict[str, Any], path: str | None) -> Any:
    """The value at a dotted path in the payload, or None."""
    return get_path(payload, path, None) if path else None


def parse_instant(value: Any) -> datetime | None:
    """An ISO 8601 date (``…Z`` accepted; naive means UTC) → aware datetime, else None."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def scheduled_until(payload: dict[str, Any], path: str | None, now: datetime) -> datetime:
    """The future instant at ``delayPath``; a missing, malformed or past date is Novu's error."""
    when = parse_instant(payload_value(payload, path))
    if when is None or when <= now:
        raise TimingError(f"Delay date at path {path} must be a future date")
    return when
