"""The ``tidings`` command: ``dev | api | worker | migrate | keys create``."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from typing import Any

from tidings.settings import Settings, make_private_dir, make_private_file


def _migrate(settings: Settings) -> None:
    from store.migrate import upgrade

    make_private_dir(settings.data_dir)
    if not settings.database_url:
        make_private_file(settings.data_dir / "tidings.db")
    upgrade(settings.resolved_database_url())


def cmd_migrate(settings: Settings, _args: Any) -> None:
    _migrate(settings)
    print("database is up to date")


def _configure_logging() -> None:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def _cannot_start(process: str, err: BaseException) -> None:
    print(f"tidings {process}: cannot start: {err}", file=sys.stderr, flush=True)
    raise SystemExit(1)


async def _api_preflight(settings: Settings) -> None:
    """Wait for the database and Temporal, and check the namespace has Tidings' search attribute."""
    from store.db import Database
    from tidings.startup import wait_for_database, wait_for_temporal
    from tidings.temporal import require_search_attributes

    db = Database(settings.resolved_database_url())
    try:
        await wait_for_database(db, settings)
    finally:
        await db.dispose()
    await require_search_attributes(await wait_for_temporal(settings))


def cmd_api(settings: Settings, _args: Any) -> None:
    import uvicorn

    from api.app import create_app
    from tidings.startup import DependencyUnavailable
    from tidings.temporal import SetupIncomplete

    _configure_logging()
    try:
        asyncio.run(_api_preflight(settings))
    except (DependencyUnavailable, SetupIncomplete) as err:
        _cannot_start("api", err)
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        access_log=False,
    )


def cmd_worker(settings: Settings, _args: Any) -> None:
    from tidings.startup import DependencyUnavailable
    from worker import run_worker

    _configure_logging()
    try:
        asyncio.run(run_worker(settings))
    except DependencyUnavailable as err:
        _cannot_start("worker", err)
    except KeyboardInterrupt:  # Ctrl-C while still waiting for a dependency
        pass


def cmd_setup(settings: Settings, args: Any) -> None:
    """Everything a release needs before its API and workers start: migrations, then the Temporal
    namespace. Idempotent; the compose setup service and the Helm hook Job run it."""
    from store.db import Database
    from tidings.startup import DependencyUnavailable, ping_database, wait_for

    async def database_up() -> None:
        db = Database(settings.resolved_database_url())
        try:
            await wait_for(
                "the database", lambda: ping_database(db), timeout=settings.startup_timeout_seconds
            )
        finally:
            await db.dispose()

    _configure_logging()
    try:
        asyncio.run(database_up())
    except DependencyUnavailable as err:
        _cannot_start("setup", err)
    cmd_migrate(settings, args)
    cmd_temporal_setup(settings, args)


def cmd_temporal_setup(settings: Settings, args: Any) -> None:
    """Namespace, retention and search attributes for Tidings; safe to run on every deploy."""
    from datetime import timedelta

    from tidings.startup import DependencyUnavailable, wait_for_temporal
    from tidings.temporal import setup_namespace

    async def run() -> None:
        client = await wait_for_temporal(settings)
        hours = getattr(args, "retention_hours", None) or settings.retention_hours
        report = await setup_namespace(client, retention=timedelta(hours=hours))
        done = [
            "namespace created" if report.namespace_created else "namespace exists",
            f"retention set to {hours}h" if report.retention_changed or report.namespace_created else "",
            f"search attributes added: {', '.join(report.attributes_added)}"
            if report.attributes_added
            else "",
        ]
        print(
            f"temporal namespace {settings.temporal_namespace} is ready ({'; '.join(d for d in done if d)})"
        )

    _configure_logging()
    try:
        asyncio.run(run())
    except DependencyUnavailable as err:
        _cannot_start("temporal setup", err)


async def _create_key(settings: Settings, environment: str) -> tuple[str, str, bool]:
    from store.db import Database
    from tidings.bootstrap import create_environment_key

    db = Database(settings.resolved_database_url())
    try:
        return await create_environment_key(db, settings, environment=environment)
    finally:
        await db.dispose()


async def _app_identifier(settings: Settings, environment_id: str) -> str:
    from store.db import Database
    from tidings.bootstrap import application_identifier

    db = Database(settings.resolved_database_url())
    try:
        return await application_identifier(db, environment_id)
    finally:
        await db.dispose()


def cmd_keys_create(settings: Settings, args: Any) -> None:
    _migrate(settings)
    env_id, key, created = asyncio.run(_create_key(settings, args.environment))
    print(f"environment {args.environment} ({env_id}){' created' if created else ''}", file=sys.stderr)
    print(key)


async def _rotate(settings: Settings) -> int:
    from store.db import Database
    from store.rotation import reencrypt_all

    db = Database(settings.resolved_database_url())
    try:
        async with db.session() as session:
            return await reencrypt_all(session=session, cipher=settings.credential_cipher())
    finally:
        await db.dispose()


def cmd_rotate_secrets(settings: Settings, _args: Any) -> None:
    """Re-encrypt stored secrets under TIDINGS_SECRET_KEY (reading TIDINGS_SECRET_KEY_PREVIOUS too)."""
    print(f"{asyncio.run(_rotate(settings))} stored secrets re-encrypted under the current key")


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
    from pathlib import Path

    exe = Path(sys.executable).parent / "tidings"
    if not exe.exists():
        return "tidings"
    try:
        return str(exe.relative_to(Path.cwd()))
    except ValueError:
        return str(exe)


def cmd_dev(settings: Settings, _args: Any) -> None:
    """Everything on one machine: Temporal dev server (+UI), API, one worker, a local mailbox."""
    from tidings.devserver import (
        Child,
        DevError,
        check_ports_free,
        dev_server_args,
        set_retention,
        wait_until_listening,
    )

    # Every file the dev processes create (temporal.db, the mailbox, logs they open) is the owner's only.
    os.umask(0o077)
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
        check_ports_free(ports)
    except DevError as err:
        _cannot_start("dev", err)
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
        for child in reversed(children):
            try:
                child.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.popen.kill()
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
        set_retention(
            f"127.0.0.1:{settings.temporal_port}", settings.temporal_namespace, settings.retention_hours
        )
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


def _write_private(path: Any, text: str) -> Any:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    return path


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
    sub.add_parser(
        "rotate-secrets", help="re-encrypt stored secrets under TIDINGS_SECRET_KEY (after a rotation)"
    ).set_defaults(fn=cmd_rotate_secrets)
    sub.add_parser(
        "setup", help="migrations + Temporal namespace set-up, before a release starts (idempotent)"
    ).set_defaults(fn=cmd_setup)
    temporal = sub.add_parser("temporal", help="Temporal namespace set-up").add_subparsers(
        dest="temporal_command", required=True
    )
    setup = temporal.add_parser(
        "setup", help="create the namespace, set its retention, add the search attributes (idempotent)"
    )
    setup.add_argument("--retention-hours", type=int, default=None, help="default: TIDINGS_RETENTION_HOURS")
    setup.set_defaults(fn=cmd_temporal_setup)
    keys = sub.add_parser("keys", help="API keys").add_subparsers(dest="keys_command", required=True)
    create = keys.add_parser("create", help="create an API key (and the environment if missing)")
    create.add_argument("--environment", default="Development")
    create.set_defaults(fn=cmd_keys_create)
    args = parser.parse_args(argv)
    if args.fn in (cmd_api, cmd_worker, cmd_temporal_setup, cmd_setup) and argv is None:
        _run_then_exit(args.fn, args)
    args.fn(Settings(), args)


def _run_then_exit(fn: Any, args: Any) -> None:
    """Run a command that used a Temporal client, then leave without interpreter finalization.

    The Temporal core runtime keeps native threads that may still release Python objects while the
    interpreter finalizes, which aborts the process ("Fatal Python error: PyGILState_Release", rc 134)
    after all work is done. Everything is flushed and closed by then, so skipping finalization is safe.
    """
    code = 0
    try:
        fn(Settings(), args)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if isinstance(stop.code, str):
            print(stop.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - printed, then the exit code says it failed
        import traceback

        traceback.print_exc()
        code = 1
    import logging

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
