"""The benchmark harness's bookkeeping: ratios, verdicts, null rows and results.json (no timing here)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bench.load import run_n, wait_for_count
from bench.results import NO_BASELINE, SPECS, Row, new_rows, percentile, table, write_results


def test_every_row_is_written_even_when_nothing_ran(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    write_results(new_rows(), out)
    data = json.loads(out.read_text())
    assert list(data) == [name for name, *_ in SPECS]
    for row in data.values():
        assert row["value"] is None and row["ratio"] is None and row["met"] is None
        assert row["note"] == "not run"
        assert {"value", "baseline", "ratio", "target", "higher_is_better", "unit"} <= set(row)


def test_ratio_and_verdict_follow_the_direction_of_the_target() -> None:
    rows = new_rows()
    accept = rows["trigger_accept_rate"]
    accept.value, accept.baseline = 81.0, 90.0
    assert accept.ratio == 0.9 and accept.met is True
    accept.value = 80.0
    assert accept.met is False

    latency = rows["trigger_latency_p50"]
    latency.value, latency.baseline = 16.0, 10.0
    assert latency.ratio == 1.6 and latency.met is False
    latency.value = 15.0
    assert latency.met is True


def test_rows_without_baseline_are_judged_on_their_value() -> None:
    assert NO_BASELINE == {"worker_rss_fanout"}
    rss = new_rows()["worker_rss_fanout"]
    rss.value, rss.baseline = 280.0, 1.0
    assert rss.ratio is None and rss.met is True
    assert rss.as_json()["baseline"] is None
    rss.value = 301.0  # issue #12: the worker's peak during a fan-out stays under 300 MB
    assert rss.met is False


def test_a_failed_benchmark_leaves_a_null_row_with_its_reason(tmp_path: Path) -> None:
    rows = new_rows()
    row = rows["digest_absorb_rate"]
    row.baseline = 300.0
    row.value = 12.0
    row.fail("digest triggers fail: not available yet")
    row.extra = {"events": 2000}
    out = tmp_path / "results.json"
    write_results(rows, out)
    data = json.loads(out.read_text())["digest_absorb_rate"]
    assert data["value"] is None and data["ratio"] is None and data["met"] is None
    assert data["baseline"] == 300.0 and data["events"] == 2000
    assert data["note"] == "digest triggers fail: not available yet"
    printed = table(rows)
    assert "digest_absorb_rate" in printed and "not available yet" in printed


def test_zero_or_missing_baseline_gives_no_ratio() -> None:
    row = Row(name="e2e_delivered_rate", unit="messages/s", target=0.7, higher_is_better=True)
    row.value, row.baseline = 10.0, 0.0
    assert row.ratio is None and row.met is None
    row.baseline = float("nan")
    assert row.ratio is None


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([5.0], 0.95) == 5.0


def test_load_helpers_count_failures_and_progress() -> None:
    async def scenario() -> None:
        async def call(i: int) -> bool:
            await asyncio.sleep(0)
            if i % 5 == 0:
                raise RuntimeError("boom")
            return i % 2 == 0

        result = await run_n(20, 4, call)
        assert result.ok == 8 and result.failed == 12 and result.first_error == "RuntimeError: boom"

        counts = iter([0, 3, 7, 10])

        async def count() -> int:
            return next(counts)

        done = await wait_for_count(count, 10, stall=5, limit=5, interval=0)
        assert done.reached and done.count == 10

        async def stuck() -> int:
            return 2

        stalled = await wait_for_count(stuck, 10, stall=0.05, limit=5, interval=0.01)
        assert not stalled.reached and stalled.count == 2

    asyncio.run(scenario())


def test_cpu_per_delivered_sums_the_processes_of_each_side() -> None:
    from bench.delivery import cpu_per_delivered

    def side(reached: bool, **cpu: float) -> dict[str, object]:
        return {"reached": reached, "delivered": 2000, "cpu_ms_per_op": cpu}

    row = new_rows()["cpu_ms_per_delivered"]
    results = {
        "tidings": side(True, api_live=3.0, worker=30.0, temporal=27.0, api_sink=0.1, bench=9.0),
        "baseline": side(True, baseline_worker=20.0, temporal=20.0, bench=2.0, worker=0.5),
    }
    cpu_per_delivered(row, results)
    assert row.value == 60.0 and row.baseline == 42.0  # idle processes and the load generator left out
    assert row.ratio is not None and round(row.ratio, 3) == 1.429 and row.met is True
    results["tidings"].update(reached=False, delivered=1900, accepted=2000)
    cpu_per_delivered(row, results)
    assert row.value == 60.0 and "partial: tidings: 1900/2000" in row.note
    results["tidings"]["delivered"] = 1700  # under 90%: the unfinished work would swamp the figure
    cpu_per_delivered(row, results)
    assert row.value is None and row.ratio is None and "fewer than 90%" in row.note
