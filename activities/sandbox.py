"""Tenant templates and filters as bounded work, in child processes off the worker's event loop.

Templates and step filters are code a tenant wrote. They run here, never on the worker's event loop:

- in a small pool of child processes (``python -m activities.sandbox``), so a slow render cannot stall
  other tenants' activities, heartbeats or timers;
- with a **time budget per item** (one subscriber's filters and renders): a ``SIGALRM`` timer in the child
  stops Python-level loops; if the child does not answer in time (a long C call) the parent kills it,
  fails that item and starts a fresh child for the rest;
- with a **budget per call** (a cohort's step): items left when it is spent fail without running;
- with a **memory budget**: ``RLIMIT_AS`` in the child (its size at start plus ``memory_mb``), so a
  huge string fails with ``MemoryError`` in the child, not the worker;
- with a **cap on output**: :data:`activities.render.MAX_OUTPUT` per value, :data:`MAX_ITEM_BYTES` per item;
- and at most ``size - 1`` children per environment, so one tenant's bombs never hold every child.

A cohort's renders travel in one call (one JSON line in, one line per item out), so the added cost per
render is small; ``bench/sandbox_overhead.py`` measures it. What a child does with an item is in
:mod:`activities.sandbox_jobs`; a failing item becomes an ``{"error": reason}`` result, which the
activities record as a failed step for that subscriber (never an exception that Temporal would retry).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import resource
import signal
import sys
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

log = logging.getLogger("tidings.sandbox")

#: Largest result line a child may send for one item (several rendered fields of up to 1M characters).
MAX_ITEM_BYTES = 8 * 1024 * 1024
#: Time for the pipe and scheduling, on top of an item's budget, before the parent kills the child.
GRACE_SECONDS = 1.0
#: How long a child may hold finished results before writing them to the parent.
FLUSH_SECONDS = 0.05
_ROOT = str(Path(__file__).resolve().parent.parent)
#: A child's start (interpreter and imports) is not charged to any item; it says ``ready`` when done.
START_SECONDS = 60.0


@dataclass(frozen=True)
class Budget:
    """Limits for tenant code; the worker builds it from settings (``TIDINGS_RENDER_*``)."""

    item_seconds: float = 1.0
    call_seconds: float = 20.0
    memory_mb: int = 128
    processes: int = 2


class _Child:
    """One sandbox process; used by one call at a time."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    def kill(self) -> None:
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()

    async def reap(self) -> None:
        self.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.proc.wait(), 5)


class SandboxPool:
    """Runs jobs of :mod:`activities.sandbox_jobs` in child processes, within a :class:`Budget`."""

    _pools: ClassVar[weakref.WeakSet[SandboxPool]] = weakref.WeakSet()

    def __init__(self, budget: Budget | None = None) -> None:
        self.budget = budget or Budget()
        self._idle: list[_Child] = []
        self._slots: asyncio.Semaphore | None = None
        self._per_env: dict[str, asyncio.Semaphore] = {}
        self._users: dict[str, int] = {}
        self._all: set[_Child] = set()
        SandboxPool._pools.add(self)

    async def run(
        self, kind: str, shared: dict[str, Any], items: list[dict[str, Any]], *, tenant: str
    ) -> list[dict[str, Any]]:
        """One result per item, in order: the job's value, or ``{"error": reason}``."""
        if not items:
            return []
        if self._slots is None:
            self._slots = asyncio.Semaphore(max(1, self.budget.processes))
        per_env = self._per_env.setdefault(tenant, asyncio.Semaphore(max(1, self.budget.processes - 1)))
        self._users[tenant] = self._users.get(tenant, 0) + 1
        try:
            async with per_env, self._slots:
                child = self._idle.pop() if self._idle else None
                try:
                    results, child = await self._run(child, kind, shared, items)
                finally:
                    if child is not None and child.alive:
                        self._idle.append(child)
                return results
        finally:
            self._users[tenant] -= 1
            if not self._users[tenant]:  # nobody holds or waits for it: forget the environment
                del self._users[tenant], self._per_env[tenant]

    async def _run(
        self, child: _Child | None, kind: str, shared: dict[str, Any], items: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], _Child | None]:
        budget = self.budget
        call_deadline = time.monotonic() + budget.call_seconds
        results: list[dict[str, Any]] = []
        while len(results) < len(items):
            if time.monotonic() >= call_deadline:
                reason = f"the step's render budget of {budget.call_seconds:g}s was spent on earlier items"
                results += [{"error": reason}] * (len(items) - len(results))
                break
            if child is None or not child.alive:
                child = await self._spawn()
            rest = items[len(results) :]
            line = json.dumps(
                {"kind": kind, "shared": shared, "items": rest, "seconds": budget.item_seconds},
                default=str,
                separators=(",", ":"),
            )
            stdin, stdout = child.proc.stdin, child.proc.stdout
            assert stdin is not None and stdout is not None
            try:
                stdin.write(line.encode() + b"\n")
                await stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                await self._drop(child)
                child = None
                continue
            expected = len(results) + len(rest)
            pending = b""
            while len(results) < expected:
                newline = pending.find(b"\n")
                if newline >= 0:  # every complete line is one item's result
                    results.append(json.loads(pending[:newline]))
                    pending = pending[newline + 1 :]
                    continue
                wait = min(budget.item_seconds + GRACE_SECONDS, max(0.0, call_deadline - time.monotonic()))
                try:
                    async with asyncio.timeout(wait + 0.05):
                        chunk = await stdout.read(1 << 20)  # whatever is there: many results per wake-up
                except TimeoutError:
                    chunk, reason = None, f"exceeded the time budget of {budget.item_seconds:g}s"
                else:
                    reason = "the render process stopped (memory budget exceeded?)"
                if len(pending) > MAX_ITEM_BYTES:
                    chunk, reason = None, f"output larger than {MAX_ITEM_BYTES} bytes"
                if not chunk:  # timed out, died mid-item, or too much output: that item fails, the rest go on
                    results.append({"error": reason})
                    await self._drop(child)
                    child = None
                    break
                pending += chunk
        return results, child

    async def _spawn(self) -> _Child:
        env = dict(os.environ)
        env["TIDINGS_SANDBOX_MEMORY_MB"] = str(self.budget.memory_mb)
        # The child imports ``activities`` from the same tree as this worker, whatever its working directory.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH", "")) if p)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "activities.sandbox",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            limit=MAX_ITEM_BYTES,
        )
        child = _Child(proc)
        self._all.add(child)
        assert proc.stdout is not None
        try:
            ready = await asyncio.wait_for(proc.stdout.readline(), START_SECONDS)
        except TimeoutError:
            ready = b""
        if ready.strip() != b"ready":
            await self._drop(child)
            raise RuntimeError("the render sandbox process did not start")  # infrastructure: retried
        return child

    async def _drop(self, child: _Child) -> None:
        self._all.discard(child)
        await child.reap()

    async def close(self) -> None:
        """Stop every child (they also stop by themselves when the worker's end of the pipe closes)."""
        children, self._all, self._idle = list(self._all), set(), []
        for child in children:
            if child.proc.stdin is not None:
                child.proc.stdin.close()
            await child.reap()

    @classmethod
    async def close_all(cls) -> None:
        for pool in list(cls._pools):
            await pool.close()


# --- the child side -----------------------------------------------------------------------------------


class ItemTimeout(BaseException):
    """Raised by the child's alarm: an item ran past its time budget (BaseException: nothing swallows it)."""


def _alarm(signum: int, frame: Any) -> None:
    raise ItemTimeout()


def _limit_memory() -> None:
    budget = int(os.environ.get("TIDINGS_SANDBOX_MEMORY_MB", "128")) * 1024 * 1024
    try:
        with open("/proc/self/status") as status:
            size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    except (OSError, StopIteration):  # not Linux: no address-space figure, no memory budget
        return
    resource.setrlimit(resource.RLIMIT_AS, (size + budget, size + budget))


def _one(
    handler: Callable[[Any, dict[str, Any]], Any], state: Any, item: dict[str, Any], seconds: float
) -> str:
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        out: dict[str, Any] = {"ok": handler(state, item)}
    except ItemTimeout:
        out = {"error": f"exceeded the time budget of {seconds:g}s"}
    except MemoryError:
        out = {"error": "exceeded the memory budget"}
    except Exception as exc:  # noqa: BLE001 - tenant code failing is a result, not a crash
        out = {"error": f"{type(exc).__name__}: {exc}"[:1000]}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        line = json.dumps(out, default=str, separators=(",", ":"))
    except (MemoryError, ValueError, TypeError):
        line = ""
    if not line or len(line) > MAX_ITEM_BYTES - 1:
        line = json.dumps({"error": f"output larger than {MAX_ITEM_BYTES} bytes"})
    return line


def serve() -> None:
    """The child's loop: a job per line on stdin, a result line per item on stdout; exits on EOF."""
    from activities.sandbox_jobs import JOBS  # imported before the memory limit is set

    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the worker, which closes our pipe
    _limit_memory()
    out = open(sys.stdout.fileno(), "wb", buffering=1 << 20, closefd=False)  # kept open for the process
    out.write(b"ready\n")
    out.flush()
    for raw in sys.stdin.buffer:
        job = json.loads(raw)
        prepare, handler = JOBS[job["kind"]]
        try:
            state = prepare(job["shared"])
        except Exception as exc:  # noqa: BLE001 - a job whose shared part is broken fails every item
            error = json.dumps({"error": f"{type(exc).__name__}: {exc}"[:1000]})
            out.write(b"".join((error + "\n").encode() for _ in job["items"]))
            out.flush()
            continue
        # Results are flushed at least every FLUSH_SECONDS (not per item: a write per render was a third
        # of the overhead), well inside the parent's per-item wait.
        flushed = time.monotonic()
        for item in job["items"]:
            out.write(_one(handler, state, item, float(job["seconds"])).encode() + b"\n")
            if time.monotonic() - flushed > FLUSH_SECONDS:
                out.flush()
                flushed = time.monotonic()
        out.flush()


if __name__ == "__main__":
    serve()
