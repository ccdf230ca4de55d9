"""When a message may be delivered: a step's ``sendWindow`` and the subscriber's delivery schedule.

Both are read in the subscriber's own time zone. A step's window (``metadata.sendWindow``)::

    {"days": ["MO", "TU", "WE", "TH", "FR"], "start": "09:00", "end": "18:00", "timezone": "Europe/Paris"?}

(``timezone`` defaults to the subscriber's; ``start > end`` means the hours outside ``end…start``, e.g.
quiet nights). The subscriber's schedule is the one ``@novu/js`` manages::

    {"isEnabled": true, "weeklySchedule": {"monday": {"isEnabled": true,
                                                      "hours": [{"start": "09:00 AM", "end": "05:00 PM"}]}}}

A message may go when *both* allow it; :func:`next_open` gives the first such instant at or after ``now``
(``None``: now is fine). Pure functions of their arguments — no clock, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
DAY_CODES = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
HORIZON_DAYS = 15
_CLOCK = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*([AaPp][Mm])?\s*$")
Interval = tuple[int, int]  # minutes since local midnight, [start, end)


class WindowError(ValueError):
    """A send window or schedule that cannot be read."""


def minutes(text: Any) -> int:
    """``"09:30"``, ``"9:30 AM"``, ``"05:00 PM"`` (and Novu's own ``"18:00 PM"``) → minutes after midnight;
    ``"24:00"`` is the end of the day."""
    match = _CLOCK.match(str(text))
    if not match:
        raise WindowError(f"not a time of day: {text!r}")
    hour, minute, meridiem = int(match.group(1)), int(match.group(2) or 0), (match.group(3) or "").lower()
    if meridiem and hour <= 12:
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    if minute > 59 or hour > 24 or (hour == 24 and minute):
        raise WindowError(f"not a time of day: {text!r}")
    return hour * 60 + minute


def day_index(value: Any) -> int:
    text = str(value).strip()
    if text.upper()[:2] in DAY_CODES and (len(text) == 2 or text.lower() in DAY_NAMES):
        return DAY_CODES[text.upper()[:2]]
    raise WindowError(f"not a day of the week: {value!r}")


def zone(name: str | None) -> tuple[ZoneInfo, bool]:
    """The zone, and whether it was known (unknown and missing zones are UTC)."""
    if not name:
        return ZoneInfo("UTC"), True
    try:
        return ZoneInfo(str(name)), True
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC"), False


@dataclass(frozen=True)
class Weekly:
    """Allowed intervals for each weekday (0 = Monday)."""

    days: dict[int, list[Interval]]

    def on(self, day: date) -> list[Interval]:
        return self.days.get(day.weekday(), [])


def split(start: int, end: int) -> list[Interval]:
    """``start > end`` wraps midnight: the day's hours outside ``end…start``."""
    if start == end:
        return [(0, 24 * 60)]
    return [(start, end)] if start < end else [(0, end), (start, 24 * 60)]


def step_window(window: dict[str, Any]) -> Weekly:
    days = window.get("days") or list(DAY_CODES)
    if not isinstance(days, list):
        raise WindowError("sendWindow.days must be a list such as ['MO', 'TU']")
    hours = split(minutes(window.get("start", "00:00")), minutes(window.get("end", "24:00")))
    return Weekly({day_index(d): hours for d in days})


def subscriber_schedule(schedule: dict[str, Any] | None) -> Weekly | None:
    """``None`` when the subscriber has no schedule, or has it switched off."""
    if not schedule or not schedule.get("isEnabled"):
        return None
    weekly = schedule.get("weeklySchedule") or {}
    days: dict[int, list[Interval]] = {}
    for index, name in enumerate(DAY_NAMES):
        day = weekly.get(name) or {}
        if not day.get("isEnabled"):
            continue
        ranges = day.get("hours") or [{"start": "00:00", "end": "24:00"}]
        days[index] = [i for r in ranges for i in split(minutes(r.get("start")), minutes(r.get("end")))]
    return Weekly(days)


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out = [(max(s1, s2), min(e1, e2)) for s1, e1 in a for s2, e2 in b]
    return sorted((s, e) for s, e in out if s < e)


def at(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """Local ``day`` + ``minute`` as a UTC instant. A wall time that does not exist (skipped by a DST
    change) becomes the moment the clocks jump, the first instant at or after it."""
    naive = datetime.combine(day, time(0)) + timedelta(minutes=minute)
    utc = naive.replace(tzinfo=tz).astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == naive:
        return utc
    earliest = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    probe = earliest
    while probe < utc and probe.astimezone(tz).replace(tzinfo=None) < naive:
        probe += timedelta(minutes=1)
    return probe


def next_open(now: datetime, tz: ZoneInfo, rules: list[Weekly]) -> datetime | None:
    """The first instant ≥ ``now`` that every rule allows; ``None`` if that is now (or no rule applies).

    Raises :class:`WindowError` when nothing opens within two weeks.
    """
    if not rules:
        return None
    today = now.astimezone(tz).date()
    for offset in range(-1, HORIZON_DAYS):
        day = today + timedelta(days=offset)
        allowed: list[Interval] = [(0, 24 * 60)]
        for rule in rules:
            allowed = intersect(allowed, rule.on(day))
        for start, end in allowed:
            opens, closes = at(day, start, tz), at(day, end, tz)
            if closes <= now:
                continue
            return None if opens <= now else opens
    raise WindowError(f"no delivery time allowed in the next {HORIZON_DAYS - 1} days")
