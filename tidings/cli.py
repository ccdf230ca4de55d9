"""The ``tidings`` command: ``dev | api | worker | migrate | setup | temporal setup | keys create``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
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


def _configure_logging(settings: Settings) -> None:
    """Readable lines, or one JSON object per line with ``TIDINGS_LOG_FORMAT=json`` (tidings/logs.py)."""
    from tidings.logs import configure

    configure(settings.log_format)


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

    _configure_logging(settings)
    try:
        asyncio.run(_api_preflight(settings))
    except (DependencyUnavailable, SetupIncomplete) as err:
        _cannot_start("api", err)
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        log_config=None,  # uvicorn's own lines go through the configured format too
        access_log=False,
    )


def cmd_worker(settings: Settings, _args: Any) -> None:
    from tidings.startup import DependencyUnavailable
    from worker import run_worker

    _configure_logging(settings)
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

    _configure_logging(settings)
    try:
        asyncio.run(database_up())
    except DependencyUnavailable as err:
        _cannot_start("setup", err)
    cmd_migrate(settings, args)
    cmd_temporal_setup(settings, args)


def cmd_temporal_setup(settings: Settings, args: Any) -> None:
    """Namespace, retention and search attributes for Tidings; safe to run on every deploy."""
    from datetime import timedelta

    from temporalio.service import RPCError

    from tidings.startup import DependencyUnavailable, wait_for_temporal
    from tidings.temporal import SetupIncomplete, setup_namespace

    async def run() -> None:
        client = await wait_for_temporal(settings)
        hours = getattr(args, "retention_hours", None) or settings.retention_hours
        try:
            report = await setup_namespace(client, retention=timedelta(hours=hours))
        except (SetupIncomplete, RPCError) as err:
            _cannot_start("temporal setup", err)
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

    _configure_logging(settings)
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


def cmd_vapid_create(_settings: Settings, args: Any) -> None:
    """Print a new VAPID key pair as the credentials of a ``web-push`` integration."""
    import json

    from activities.providers.webpush import create_vapid_keys

    credentials = {**create_vapid_keys(), "subject": args.subject}
    print(json.dumps({"providerId": "web-push", "channel": "push", "credentials": credentials}, indent=2))
    print(
        "# POST this body to /v1/integrations; give browsers vapidPublicKey as applicationServerKey.",
        file=sys.stderr,
    )


def cmd_dev(settings: Settings, args: Any) -> None:
    from tidings.dev import run_dev

    run_dev(settings)


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
    vapid = sub.add_parser("vapid", help="Web Push keys").add_subparsers(dest="vapid_command", required=True)
    vapid_create = vapid.add_parser("create", help="print a new VAPID key pair for a web-push integration")
    vapid_create.add_argument(
        "--subject", default="mailto:admin@example.com", help="mailto: or https: contact"
    )
    vapid_create.set_defaults(fn=cmd_vapid_create)
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
