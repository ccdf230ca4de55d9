"""Result rows: the ratio against the same run's baseline, the verdict, the table and ``results.json``."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Row:
    """One benchmark: what Tidings measured, the baseline measured in the same run, and the target.

    ``target`` bounds the ratio (value / baseline); for a row without a baseline it bounds the value.
    """

    name: str
    unit: str
    target: float
    higher_is_better: bool
    value: float | None = None
    baseline: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_baseline(self) -> bool:
        return self.name not in NO_BASELINE

    @property
    def ratio(self) -> float | None:
        if not self.has_baseline or not _number(self.value) or not _number(self.baseline):
            return None
        assert self.value is not None and self.baseline is not None
        if self.baseline == 0:
            return None
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        """Whether the target is met; ``None`` when there is nothing to judge."""
        judged = self.ratio if self.has_baseline else self.value
        if not _number(judged):
            return None
        assert judged is not None
        return judged >= self.target if self.higher_is_better else judged <= self.target

    def fail(self, note: str) -> Row:
        """Record that the benchmark could not produce a value (the row stays, with ``value: null``)."""
        self.value = None
        self.note = note
        return self

    def as_json(self) -> dict[str, Any]:
        ratio = self.ratio
        out: dict[str, Any] = {
            "value": _round(self.value),
            "baseline": _round(self.baseline) if self.has_baseline else None,
            "ratio": _round(ratio, 3),
            "target": self.target,
            "higher_is_better": self.higher_is_better,
            "unit": self.unit,
            "met": self.met,
        }
        if self.note:
            out["note"] = self.note
        out.update(self.extra)
        return out


#: Rows judged on their value alone.
NO_BASELINE = {"worker_rss_fanout"}

#: Every row ``results.json`` always has, in the order the table prints them.
SPECS: list[tuple[str, str, float, bool]] = [
    ("trigger_accept_rate", "triggers/s", 0.9, True),
    ("trigger_latency_p50", "ms", 1.5, False),
    ("e2e_delivered_rate", "messages/s", 0.85, True),
    ("cpu_ms_per_delivered", "ms", 1.5, False),
    ("e2e_slow_provider_rate", "emails/s", 0.8, True),
    ("topic_fanout_100k", "s", 10.0, False),
    ("digest_absorb_rate", "events/s", 0.5, True),
    ("worker_rss_fanout", "MB", 300.0, False),
    ("inbox_push_latency_p50", "ms", 1.3, False),
]


def new_rows() -> dict[str, Row]:
    """A row per benchmark, each ``null`` until its benchmark fills it in."""
    return {
        name: Row(name=name, unit=unit, target=target, higher_is_better=hib, note="not run")
        for name, unit, target, hib in SPECS
    }


def write_results(rows: dict[str, Row], path: Path) -> None:
    data = {name: row.as_json() for name, row in rows.items()}
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


def table(rows: dict[str, Row]) -> str:
    """A fixed-width table of the rows, notes underneath."""
    head = f"{'benchmark':<22} {'tidings':>12} {'baseline':>12} {'unit':<11} {'ratio':>7} {'target':>8}  met"
    lines = [head, "-" * len(head)]
    notes = []
    for row in rows.values():
        ratio = row.ratio
        bound = ">=" if row.higher_is_better else "<="
        target = f"{bound}{row.target:g}"
        met = {True: "yes", False: "NO", None: "-"}[row.met]
        lines.append(
            f"{row.name:<22} {_fmt(row.value):>12} {_fmt(row.baseline):>12} {row.unit:<11} "
            f"{_fmt(ratio, 2):>7} {target:>8}  {met}"
        )
        if row.note:
            notes.append(f"  {row.name}: {row.note}")
    return "\n".join(lines + ([""] + notes if notes else []))


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0–1) by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _round(value: float | None, digits: int = 2) -> float | None:
    return round(value, digits) if _number(value) else None


def _fmt(value: float | None, digits: int = 1) -> str:
    return f"{value:.{digits}f}" if _number(value) else "-"
