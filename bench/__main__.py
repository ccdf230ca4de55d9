"""``python -m bench [--full]``: run every benchmark, print the table, write ``bench/results.json``.

Every row is always written: a benchmark that cannot run (a feature not there yet, a failure) leaves
``value: null`` and a note, and the run goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import psutil

from bench.results import Row, new_rows, table, write_results
from bench.scale import CI, FULL, SMOKE, Scale, scale_deadline

HERE = Path(__file__).resolve().parent


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} CPUs ({model}), {ram:.0f} GiB RAM, Python {platform.python_version()}"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def start_profilers(stack: object, folder: Path, exits: AsyncExitStack) -> None:
    """py-spy on the worker and API processes, collapsed stacks written when the run ends."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    folder.mkdir(parents=True, exist_ok=True)
    procs = stack.procs  # type: ignore[attr-defined]
    for name in ("worker", "api_live", "api_sink"):
        out = folder / f"{name}.txt"
        spied = subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(procs[name].popen.pid),
                "--format",
                "raw",
                "--rate",
                "50",
                "-o",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def stop(p: subprocess.Popen[bytes] = spied) -> None:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()

        exits.callback(stop)


async def run(scale: Scale, out: Path, only: set[str], keep: bool, profile: Path | None) -> dict[str, Row]:
    from bench.delivery import e2e_rate, fanout
    from bench.digest import digest_rate
    from bench.inbox import push_latency
    from bench.slow_provider import slow_provider_rate
    from bench.stack import start_stack
    from bench.trigger import accept_rate, latency

    deadline = time.monotonic() + scale.budget
    scale_deadline.set(deadline)
    rows = new_rows()
    for row in rows.values():
        row.extra = {"scale": scale.name}
    write_results(rows, out)
    async with AsyncExitStack() as exits:
        log(f"starting the stack ({machine()})")
        try:
            stack = await start_stack(exits, keep=keep)
        except Exception as exc:  # noqa: BLE001 - every row records why, and the run still writes them
            for row in rows.values():
                row.fail(f"setup failed: {type(exc).__name__}: {exc}"[:600])
            write_results(rows, out)
            return rows
        log(f"stack up in {stack.tmp} (app database: {stack.backend})")
        if profile is not None:
            start_profilers(stack, profile, exits)
        r = rows
        steps: list[tuple[list[str], Callable[[], Awaitable[None]], float]] = [
            (["trigger_accept_rate"], lambda: accept_rate(stack, scale, r["trigger_accept_rate"]), 300),
            (["trigger_latency_p50"], lambda: latency(stack, scale, r["trigger_latency_p50"]), 300),
            (
                ["e2e_delivered_rate", "cpu_ms_per_delivered"],
                lambda: e2e_rate(stack, scale, r["e2e_delivered_rate"], r["cpu_ms_per_delivered"]),
                60 * 60,
            ),
            (
                ["e2e_slow_provider_rate"],
                lambda: slow_provider_rate(stack, scale, r["e2e_slow_provider_rate"]),
                60 * 60,
            ),
            (
                ["topic_fanout_100k", "worker_rss_fanout"],
                lambda: fanout(stack, scale, r["topic_fanout_100k"], r["worker_rss_fanout"]),
                scale.fanout_limit + 600,
            ),
            (
                ["digest_absorb_rate"],
                lambda: digest_rate(stack, scale, r["digest_absorb_rate"], front_rate(r)),
                scale.digest_window_max * 2 + 900,
            ),
            (
                ["inbox_push_latency_p50"],
                lambda: push_latency(stack, scale, r["inbox_push_latency_p50"]),
                600,
            ),
        ]
        for names, step, timeout in steps:
            if only and not only.intersection(names):
                continue
            for name in names:
                rows[name].note = ""
            left = deadline - time.monotonic()
            if left < 20:
                for name in names:
                    rows[name].fail(f"skipped: the run's {scale.budget:.0f}s time budget was spent")
                continue
            log(f"running {', '.join(names)}")
            t0 = time.monotonic()
            try:
                await asyncio.wait_for(step(), timeout=min(timeout, left))
            except TimeoutError:
                for name in names:
                    rows[name].fail(f"stopped after {time.monotonic() - t0:.0f}s (step limit or run budget)")
            except Exception as exc:  # noqa: BLE001 - one failing benchmark never ends the run
                for name in names:
                    rows[name].fail(f"{type(exc).__name__}: {exc}"[:600])
            for name in names:
                rows[name].extra.setdefault("scale", scale.name)
                rows[name].extra["backend"] = stack.backend
            write_results(rows, out)
            log(f"done in {time.monotonic() - t0:.0f}s: " + "; ".join(_short(rows[n]) for n in names))
    return rows


def front_rate(rows: dict[str, Row]) -> float | None:
    """How fast this run's front door accepts triggers: the accept row, else the delivery rate reached."""
    return rows["trigger_accept_rate"].value or delivery_estimate(rows["e2e_delivered_rate"])


def delivery_estimate(row: Row) -> float | None:
    """Tidings' delivery rate in this run: the e2e value, else the partial rate it reached."""
    if row.value:
        return row.value
    detail = row.extra.get("tidings_detail") or {}
    if detail.get("seconds") and detail.get("delivered"):
        return float(detail["delivered"]) / float(detail["seconds"])
    return None


def _short(row: Row) -> str:
    ratio = row.ratio
    text = f"{row.name}={row.value:.1f}" if row.value is not None else f"{row.name}=null"
    return text + (f" (ratio {ratio:.2f})" if ratio is not None else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--full", action="store_true", help="full scale (default: the CI scale)")
    parser.add_argument("--smoke", action="store_true", help="a tiny scale that only checks the harness")
    parser.add_argument("--out", type=Path, default=HERE / "results.json", help="where to write the results")
    parser.add_argument(
        "--only", default="", help="comma-separated benchmark names to run (others stay null)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the run's temp dir (logs, databases)")
    parser.add_argument(
        "--profile", type=Path, default=None, help="py-spy the worker and APIs into this folder"
    )
    args = parser.parse_args(argv)
    scale = FULL if args.full else SMOKE if args.smoke else CI
    only = {n.strip() for n in args.only.split(",") if n.strip()}
    t0 = time.monotonic()
    rows = asyncio.run(run(scale, args.out, only, args.keep, args.profile))
    print(f"\nTidings benchmarks, {scale.name} scale, {machine()}, {time.monotonic() - t0:.0f}s\n")
    print(table(rows))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
