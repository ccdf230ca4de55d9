"""The ``tidings`` command: ``dev | api | worker | migrate | keys create``."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from tidings.settings import Settings


def _migrate(settings: Settings) -> None:
    from store.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url())


def cmd_migrate(settings: Settings, _args: Any) -> None:
    _migrate(settings)
    print("database is up to date")


def cmd_api(settings: Settings, _args: Any) -> None:
    import uvicorn

    from api.app import create_app
    from tidings.logs import configure

    configure(settings.log_format)
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        log_config=None,  # uvicorn's own lines go through the configured format too
        access_log=False,
    )


def cmd_worker(settings: Settings, _args: Any) -> None:
    from tidings.logs import configure
    from worker import run_worker

    configure(settings.log_format)
    try:
        asyncio.run(run_worker(settings))
    except KeyboardInterrupt:
        pass


async def _create_key(settings: Settings, environment: str) -> tuple[str, str, bool]:
    from store.db import Database
    from tidings.bootstrap import create_environment_key

    db = Database(settings.resolved_database_url())
    try:
        return await create_environment_key(db, settings, environment=environment)
    finally:
        await db.dispose()


def cmd_keys_create(settings: Settings, args: Any) -> None:
    _migrate(settings)
    env_id, key, created = asyncio.run(_create_key(settings, args.environment))
    print(f"environment {args.environment} ({env_id}){' created' if created else ''}", file=sys.stderr)
    print(key)


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) != 0


def cmd_dev(settings: Settings, _args: Any) -> None:
    """Everything on one machine: Temporal dev server (+UI), API, one worker, a local mailbox."""
    from tidings.devserver import dev_server_args, set_retention, wait_for_port

    data = settings.data_dir.resolve()
    data.mkdir(parents=True, exist_ok=True)
    settings.resolved_secret_key()  # create it once, before the children read it
    _migrate(settings)
    env = dict(
        os.environ, TIDINGS_DATA_DIR=str(data), TIDINGS_TEMPORAL_ADDRESS=f"127.0.0.1:{settings.temporal_port}"
    )
    # Local development posts webhooks to local receivers; production refuses internal addresses.
    env.setdefault("TIDINGS_ALLOW_PRIVATE_DESTINATIONS", "true")
    children: list[subprocess.Popen[bytes]] = []
    mailbox = None

    def stop(*_: Any) -> None:
        for child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGINT if child is not children[0] else signal.SIGTERM)
        for child in reversed(children):
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        if mailbox is not None:
            mailbox.stop()

    try:
        temporal = subprocess.Popen(
            dev_server_args(
                port=settings.temporal_port, ui_port=settings.ui_port, db_file=data / "temporal.db"
            ),
            env=env,
        )
        children.append(temporal)
        wait_for_port("127.0.0.1", settings.temporal_port, timeout=60)
        set_retention(
            f"127.0.0.1:{settings.temporal_port}", settings.temporal_namespace, settings.retention_hours
        )
        if (
            settings.dev_mailbox
            and settings.smtp_host in ("127.0.0.1", "localhost")
            and _port_free(settings.smtp_host, settings.smtp_port)
        ):
            from tidings.mailbox import start_mailbox

            mailbox = start_mailbox(settings.smtp_host, settings.smtp_port, data / "mailbox")
        env_id, key, created = (
            asyncio.run(_create_key(settings, "Development")) if _first_start(data) else ("", "", False)
        )
        children.append(subprocess.Popen([sys.executable, "-m", "tidings.cli", "worker"], env=env))
        children.append(subprocess.Popen([sys.executable, "-m", "tidings.cli", "api"], env=env))
        wait_for_port(settings.api_host, settings.api_port, timeout=60)
        print("\n" + "=" * 72)
        print(f"  Tidings API      {settings.api_url()}")
        print(f"  Temporal UI      http://127.0.0.1:{settings.ui_port}")
        if mailbox is not None:
            print(
                f"  Dev mailbox      smtp://{settings.smtp_host}:{settings.smtp_port} -> {data / 'mailbox'}"
            )
        if key:
            print(f"  Environment      Development ({env_id})")
            print(f"  API key          {key}   (shown once; `tidings keys create` makes another)")
        else:
            print("  API key          created on first start; `tidings keys create` makes another")
        print("=" * 72 + "\n", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("a Tidings process stopped; shutting down the others", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        stop()


def _first_start(data: Any) -> bool:
    marker = data / ".bootstrapped"
    if marker.exists():
        return False
    marker.write_text("Development environment created\n")
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tidings", description="Notification infrastructure on Temporal.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("dev", help="run Temporal, the API, a worker and a mailbox on this machine").set_defaults(
        fn=cmd_dev
    )
    sub.add_parser("api", help="serve the REST API").set_defaults(fn=cmd_api)
    sub.add_parser("worker", help="run a worker").set_defaults(fn=cmd_worker)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(fn=cmd_migrate)
    keys = sub.add_parser("keys", help="API keys").add_subparsers(dest="keys_command", required=True)
    create = keys.add_parser("create", help="create an API key (and the environment if missing)")
    create.add_argument("--environment", default="Development")
    create.set_defaults(fn=cmd_keys_create)
    args = parser.parse_args(argv)
    args.fn(Settings(), args)


if __name__ == "__main__":
    main()
