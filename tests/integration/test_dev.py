"""`tidings dev` explains itself: busy ports are named with their holder, a child that dies is reported
with its own error at once, and every start prints the environment id and applicationIdentifier."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from pathlib import Path

import pytest

from tidings.devserver import Child, DevError, free_port, wait_until_listening

ROOT = Path(__file__).resolve().parents[2]


def dev_env(data: Path, **ports: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    env["TIDINGS_DATA_DIR"] = str(data)
    for name in ("api_port", "temporal_port", "ui_port", "smtp_port"):
        env[f"TIDINGS_{name.upper()}"] = str(ports.get(name) or free_port())
    return env


async def test_busy_port_is_named_with_its_holder_and_nothing_starts(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tidings.cli",
            "dev",
            env=dev_env(tmp_path, smtp_port=port),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    message = err.decode()
    assert f"port {port} (the dev mailbox) is in use by pid {os.getpid()} (" in message
    assert "TIDINGS_DEV_MAILBOX=false" in message
    assert "Tidings API" not in out.decode() and not (tmp_path / "temporal.db").exists()


def test_a_child_that_dies_during_start_up_is_reported_with_its_own_error() -> None:
    broken = Child(
        "tidings api",
        [
            sys.executable,
            "-c",
            "import sys; print('ImportError: catalog workflow broken', file=sys.stderr); sys.exit(3)",
        ],
        dict(os.environ),
    )
    with pytest.raises(DevError) as caught:
        wait_until_listening("127.0.0.1", free_port(), [broken], timeout=60)
    assert str(caught.value).startswith("tidings api exited with code 3:")
    assert "ImportError: catalog workflow broken" in str(caught.value)
    assert "nothing is listening" not in str(caught.value)


async def start_dev(data: Path, env: dict[str, str], log: Path) -> tuple[asyncio.subprocess.Process, str]:
    """Start `tidings dev` and return it with its banner."""
    with log.open("ab") as sink:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tidings.cli",
            "dev",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=sink,
            # Started as a background job is (`tidings dev &`, CI): with SIGINT ignored, which a child
            # inherits. Ctrl-C must still stop it and its children.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
            start_new_session=True,  # its own process group, so a failed stop can take all of it down
        )
    assert proc.stdout is not None
    lines: list[str] = []

    async def banner() -> str:
        assert proc.stdout is not None
        rules = 0
        while rules < 2:
            line = (await proc.stdout.readline()).decode()
            if not line:
                raise AssertionError(
                    f"tidings dev stopped: {(await asyncio.to_thread(log.read_text))[-3000:]}"
                )
            lines.append(line)
            rules += line.startswith("=" * 72)
        return "".join(lines)

    return proc, await asyncio.wait_for(banner(), 180)


async def stop_dev(proc: asyncio.subprocess.Process, log: Path | None = None) -> None:
    """Ctrl-C, as a user would; `tidings dev` gives its children 15 s in all, then kills them."""
    proc.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(proc.wait(), 120)
    except TimeoutError:
        os.killpg(proc.pid, signal.SIGKILL)
        told = (await asyncio.to_thread(log.read_text))[-3000:] if log else ""
        raise AssertionError(f"tidings dev did not stop after Ctrl-C:\n{told}") from None


@pytest.mark.slow
async def test_every_start_prints_the_environment_and_a_runnable_keys_command(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = dev_env(data)
    first, banner = await start_dev(data, env, tmp_path / "dev.log")
    try:
        found = re.search(r"Environment +Development +id (\w+) +applicationIdentifier (\S+)", banner)
        assert found is not None, banner
        env_id, identifier = found.groups()
        # Captured output (not a terminal): the key goes to a 0600 file, never into the log.
        key = re.search(r"API key +in (\S+) \(mode 0600\); `(.+) keys create` makes another", banner)
        assert key is not None, banner
        stored = await asyncio.to_thread(Path(key.group(1)).read_text)
        assert re.fullmatch(r"\w{32}\n", stored) and stored.strip() not in banner
        command = key.group(2)
        assert await asyncio.to_thread((ROOT / command).is_file), command  # relative to where dev ran
    finally:
        await stop_dev(first, tmp_path / "dev.log")

    second, banner = await start_dev(data, env, tmp_path / "dev.log")
    try:
        assert f"id {env_id}  applicationIdentifier {identifier}" in banner
        assert f"`{command} keys create` makes another" in banner
        created = await asyncio.create_subprocess_exec(
            str(ROOT / command),
            "keys",
            "create",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await created.communicate()
        assert created.returncode == 0 and f"({env_id})" in err.decode() and len(out.split()[-1]) == 32
    finally:
        await stop_dev(second, tmp_path / "dev.log")
