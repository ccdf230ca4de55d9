"""Wall-clock schedules in a subscriber's timezone: "next 09:00 local" and timed digest windows.

Pure functions of (now, configuration, timezone), run in activities so workflows only see the result.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from workflows.steps.timing import TimingError

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
HORIZON_DAYS = 800  # a schedule with no match in two years is treated as invalid


def zone(name: str | None) -> ZoneInfo:
    """The subscriber's IANA timezone; UTC when unset or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def parse_clock(value: Any) -> time:
    """``"HH:MM"`` or ``"HH:MM:SS"`` (24-hour)."""
    try:
        parts = [int(p) for p in str(value).split(":")]
        if len(parts) not in (2, 3):
            raise ValueError(value)
        return time(parts[0], parts[1], parts[2] if len(parts) == 3 else 0)
    except (TypeError, ValueError) as exc:
        raise TimingError(f"Invalid time of day {value!r}, expected HH:MM") from exc


def _at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    # fold=0 picks the first of an ambiguous hour; a time in a DST gap resolves past it.
    local = datetime.combine(day, clock, tzinfo=tz)
    return local.astimezone(UTC).astimezone(tz)


def next_local_time(now: datetime, at_time: Any, tz: ZoneInfo) -> datetime:
    """The first ``at_time`` on the subscriber's wall clock strictly after ``now`` (returned in UTC)."""
    clock = parse_clock(at_time)
    today = now.astimezone(tz).date()
    for offset in range(3):
        candidate = _at(today + timedelta(days=offset), clock, tz)
        if candidate > now:
            return candidate.astimezone(UTC)
    raise TimingError(f"No next occurrence of {at_time!r}")


def _ordinal_days(day: date, ordinal: str, value: str) -> set[int]:
    _, last = calendar.monthrange(day.year, day.month)
    days = [date(day.year, day.month, d) for d in range(1, last + 1)]
    if value == "weekday":
        matching = [d for d in days if d.weekday() < 5]
    elif value == "weekend":
        matching = [d for d in days if d.weekday() >= 5]
    elif value in WEEKDAYS:
        matching = [d for d in days if d.weekday() == WEEKDAYS.index(value)]
    else:  # "day"
        matching = days
    if not matching:
        return set()
    if ordinal == "last":
        return {matching[-1].day}
    index = int(ordinal) - 1
    return {matching[index].day} if 0 <= index < len(matching) else set()


def _day_matches(day: date, timed: dict[str, Any]) -> bool:
    week_days = [str(w).lower() for w in timed.get("weekDays") or []]
    if week_days and WEEKDAYS[day.weekday()] not in week_days:
        return False
    month_days = [int(d) for d in timed.get("monthDays") or []]
    if month_days and day.day not in month_days:
        return False
    ordinal = timed.get("ordinal")
    if ordinal and timed.get("monthlyType", "on") == "on":
        if str(ordinal) not in ("1", "2", "3", "4", "5", "last"):
            raise TimingError(f"Invalid ordinal {ordinal!r}")
        value = str(timed.get("ordinalValue") or "day").lower()
        if day.day not in _ordinal_days(day, str(ordinal), value):
            return False
    return True


def next_timed(now: datetime, timed: dict[str, Any], tz: ZoneInfo) -> datetime:
    """When a timed digest window opened at ``now`` closes: the next matching slot on the
    subscriber's clock (``cronExpression``, or ``atTime`` + ``weekDays``/``monthDays``/ordinal)."""
    cron = timed.get("cronExpression")
    if cron:
        if not croniter.is_valid(str(cron)):
            raise TimingError(f"Invalid cron expression {cron!r}")
        following = croniter(str(cron), now.astimezone(tz)).get_next(datetime)
        return following.astimezone(UTC)  # type: ignore[no-any-return]
    clock = parse_clock(timed.get("atTime") or "00:00")
    today = now.astimezone(tz).date()
    for offset in range(HORIZON_DAYS):
        day = today + timedelta(days=offset)
        if _day_matches(day, timed):
            candidate = _at(day, clock, tz)
            if candidate > now:
                return candidate.astimezone(UTC)
    raise TimingError("The timed digest schedule never matches")
