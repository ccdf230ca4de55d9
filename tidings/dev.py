"""``tidings dev``: Temporal's dev server (+UI), the API, one worker and a local mailbox on one machine.

It explains itself: busy ports are named with the process holding them before anything starts, a child that
dies stops everything at once with that child's own last error lines, and every start prints the
environment's id and applicationIdentifier.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tidings.cli import _app_identifier, _create_key, _migrate
from tidings.settings import Settings, make_private_dir


async def _development_environment(settings: Settings, name: str = "Development") -> tuple[str, str]:
    """(id, applicationIdentifier) of the dev environment, for the banner on every start."""
    from store.db import Database
    from store.tenancy import list_environments

    db = Database(settings.resolved_database_url())
    try:
        async with db.session() as session:
            envs = sorted(
                (e for e in await list_environments(session=session) if e.name == name),
                key=lambda e: e.created_at,
            )
    finally:
        await db.dispose()
    return (envs[0].id, envs[0].identifier) if envs else ("", "")


def tidings_command() -> str:
    """How to call this ``tidings`` from the current directory (it is often not on PATH: a venv)."""
    exe = Path(sys.executable).parent / "tidings"
    if not exe.exists():
        return "tidings"
    try:
        return str(exe.relative_to(Path.cwd()))
    except ValueError:
        return str(exe)


def run_dev(settings: Settings) -> None:
    """Everything on one machine: Temporal dev server (+UI), API, one worker, a local mailbox."""
    from tidings.devserver import (
        Child,
        DevError,
        check_embedded,
        check_ports_free,
        dev_server_args,
        wait_until_listening,
    )

    # Ctrl-C (and SIGTERM, as from a process manager) stops everything — also when `tidings dev` was
    # started by a shell that ignores SIGINT (a background job), which Python would otherwise inherit.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    data = settings.data_dir.resolve()
    with_mailbox = settings.dev_mailbox and settings.smtp_host in ("127.0.0.1", "localhost")
    ports = {
        "the API": (settings.api_host, settings.api_port),
        "Temporal": ("127.0.0.1", settings.temporal_port),
        "the Temporal UI": ("127.0.0.1", settings.ui_port),
    }
    if with_mailbox:
        ports["the dev mailbox"] = (settings.smtp_host, settings.smtp_port)
    try:
        check_embedded(with_mailbox=with_mailbox)
        check_ports_free(ports)
    except DevError as err:
        print(f"tidings dev: cannot start: {err}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    # Every file the dev processes create (temporal.db, the mailbox, logs they open) is the owner's only.
    os.umask(0o077)
    make_private_dir(data)
    settings.resolved_secret_key()  # create it once, before the children read it
    _migrate(settings)
    env = dict(
        os.environ, TIDINGS_DATA_DIR=str(data), TIDINGS_TEMPORAL_ADDRESS=f"127.0.0.1:{settings.temporal_port}"
    )
    # Everything of `tidings dev` lives on loopback (mailbox, local fakes): let providers reach it.
    env.setdefault("TIDINGS_ALLOW_PRIVATE_DESTINATIONS", "true")
    env.setdefault("TIDINGS_INBOX_PAGE", "true")  # the /inbox page is on in dev, off unless set elsewhere
    children: list[Child] = []
    mailbox = None
    failed = False

    def stop(*_: Any) -> None:
        for child in reversed(children):
            if child.popen.poll() is None:
                child.popen.send_signal(signal.SIGINT if child is not children[0] else signal.SIGTERM)
        # One deadline for all of them (they stop in parallel); whatever is still running then is killed.
        deadline = time.monotonic() + 15
        for child in reversed(children):
            try:
                child.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(
                    f"tidings dev: {child.name} did not stop in time; killing it", file=sys.stderr, flush=True
                )
                child.popen.kill()
                child.popen.wait()
        if mailbox is not None:
            mailbox.stop()

    try:
        temporal = Child(
            "the Temporal dev server",
            dev_server_args(
                port=settings.temporal_port, ui_port=settings.ui_port, db_file=data / "temporal.db"
            ),
            env,
        )
        children.append(temporal)
        wait_until_listening("127.0.0.1", settings.temporal_port, children, timeout=60)
        # The same namespace set-up as every deployment (retention, search attributes).
        setup = subprocess.run(
            [sys.executable, "-m", "tidings.cli", "temporal", "setup"],
            env=env,
            capture_output=True,
            text=True,
        )
        if setup.returncode != 0:
            raise DevError(f"tidings temporal setup failed:\n{setup.stderr.strip() or setup.stdout.strip()}")
        if with_mailbox:
            from tidings.mailbox import start_mailbox

            mailbox = start_mailbox(settings.smtp_host, settings.smtp_port, data / "mailbox")
        key = asyncio.run(_create_key(settings, "Development"))[1] if _first_start(data) else ""
        env_id, identifier = asyncio.run(_development_environment(settings))
        children.append(Child("tidings worker", [sys.executable, "-m", "tidings.cli", "worker"], env))
        children.append(Child("tidings api", [sys.executable, "-m", "tidings.cli", "api"], env))
        wait_until_listening(settings.api_host, settings.api_port, children, timeout=120)
        command = tidings_command()
        print("\n" + "=" * 72)
        print(f"  Tidings API      {settings.api_url()}")
        print(f"  Temporal UI      http://127.0.0.1:{settings.ui_port}")
        if mailbox is not None:
            print(
                f"  Dev mailbox      smtp://{settings.smtp_host}:{settings.smtp_port} -> {data / 'mailbox'}"
            )
        print(f"  Environment      Development  id {env_id}  applicationIdentifier {identifier}")
        if key:
            if sys.stdout.isatty():
                print(f"  API key          {key}   (shown once; `{command} keys create` makes another)")
            else:  # output captured to a file (dev.log): the key goes to a private file instead
                key_file = _write_private(data / "dev-api-key", key + "\n")
                print(f"  API key          in {key_file} (mode 0600); `{command} keys create` makes another")
        else:
            print(f"  API key          shown on first start; `{command} keys create` makes another")
        app = asyncio.run(_app_identifier(settings, env_id))
        if app:
            print(f"  Inbox            {settings.api_url()}/inbox   applicationIdentifier {app}")
        print("=" * 72 + "\n", flush=True)
        while True:
            reasons = [r for r in (child.failure() for child in children) if r]
            if reasons:
                raise DevError(reasons[0])
            time.sleep(0.5)
    except DevError as err:
        failed = True
        print(f"tidings dev: {err}\nshutting down the other processes", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
    if failed:
        raise SystemExit(1)


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def _write_private(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    return path


def _first_start(data: Path) -> bool:
    marker = data / ".bootstrapped"
    if marker.exists():
        return False
    marker.write_text("Development environment created\n")
    return True
