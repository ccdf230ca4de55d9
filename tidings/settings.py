"""Settings read from ``TIDINGS_*`` environment variables (created at start-up, never at import)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from store.crypto import CredentialCipher


class Settings(BaseSettings):
    """Every knob Tidings has. Each field maps to ``TIDINGS_<NAME>``; the README lists them."""

    model_config = SettingsConfigDict(env_prefix="TIDINGS_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str = ""
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "tidings"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    temporal_port: int = 7233
    ui_port: int = 8233
    public_url: str = ""
    #: Where operators open the Temporal UI (links in the notifications API); the dev server's by default.
    temporal_ui_url: str = ""
    secret_key: str = ""
    #: The secret before a rotation: values encrypted under it are still read (see store/crypto.py).
    secret_key_previous: str = ""
    #: ``text`` (readable lines) or ``json`` (one object per line, for log shippers).
    log_format: str = "text"
    max_body_bytes: int = 20 * 1024 * 1024
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_secure: bool = False
    smtp_from: str = "no-reply@tidings.local"
    smtp_sender_name: str = "Tidings"
    dev_mailbox: bool = True
    retention_hours: int = 720
    #: Translations: the locale used when a subscriber's own (and its language) has no text for a key.
    default_locale: str = "en_US"
    slack_oauth_base_url: str = "https://slack.com"
    provider_base_urls: dict[str, str] = Field(default_factory=dict)
    #: Tries per integration for transient provider errors (backoff doubles from the first delay)
    #: before the next integration is tried.
    provider_attempts: int = 3
    provider_backoff_seconds: float = 0.5
    provider_timeout_seconds: float = 10.0
    #: Tenant templates and filters (docs/limits.md): child processes that render, the time budget of
    #: one subscriber's filters + renders, of one step for a cohort, and the memory budget per child.
    render_processes: int = 2
    render_timeout_seconds: float = 1.0
    render_step_budget_seconds: float = 20.0
    render_memory_mb: int = 128
    #: Let providers, webhooks and OAuth reach loopback/private/link-local addresses. Off by default
    #: (tenants choose URLs: see docs/security.md); ``tidings dev`` turns it on.
    allow_private_destinations: bool = False
    #: How long an API request waits for a database lock or connection, and for Temporal, before it
    #: answers 503 with ``Retry-After: retry_after_seconds``.
    db_timeout_seconds: float = 5.0
    temporal_timeout_seconds: float = 5.0
    retry_after_seconds: int = 5
    #: How long the API and the worker wait for the database and Temporal at start-up (0 = forever).
    startup_timeout_seconds: float = 120.0
    #: On SIGTERM the worker stops polling and gives running activities this long to finish.
    worker_shutdown_grace: float = 30.0
    #: Worker concurrency (docs/configuration.md, "Sizing the worker"). Activity slots bound the remote
    #: activities in flight — channel steps that wait on provider APIs (email, SMS, chat, push) — and
    #: cost only memory while they wait: at 200 ms per provider call, 200 slots carry up to ~1,000
    #: sends/s. Local-activity slots bound the short database steps (in-app, recipients); 0 = 8 on
    #: SQLite (one writer: more only queue on its lock) and 200 on PostgreSQL.
    worker_max_activities: int = 200
    worker_max_local_activities: int = 0
    #: Workflow tasks one worker runs at once; each runs on its own thread, and the threads share the GIL
    #: with the event loop that runs the activities and sends their heartbeats (docs/configuration.md,
    #: "Sizing the worker"). 0 = the Temporal SDK's default (100 tasks, one thread each).
    worker_max_workflow_tasks: int = 16
    worker_max_cached_workflows: int = 2000
    #: Outbound HTTP connection pool shared by the HTTP providers: connections open at once, and kept
    #: alive between sends (fewer than the sends in flight means a new TCP/TLS handshake per send).
    provider_max_connections: int = 200
    provider_max_keepalive: int = 200
    #: Sends in flight at once within one channel step's cohort (one activity).
    provider_concurrency: int = 16
    #: Port of the worker's ``/health/live`` and ``/health/ready`` (0 = none).
    worker_health_port: int = 0
    worker_health_host: str = "0.0.0.0"
    #: The Inbox (issue 11): lifetime of a subscriber session token, sockets one subscriber may hold
    #: open on one API process, how often the SQLite hand-over is polled, and whether ``/inbox`` is served.
    inbox_token_ttl_seconds: int = 6 * 3600
    inbox_max_sockets_per_subscriber: int = 10
    inbox_poll_seconds: float = 0.02
    inbox_page: bool = False
    #: Origins whose web apps may call ``/v1/inbox/*`` from the browser (CORS).
    inbox_cors_origins: list[str] = Field(default_factory=lambda: ["*"])
    #: Worker metrics (0 = off): Tidings' own on ``worker_metrics_port``, the Temporal SDK's (task
    #: latencies, polls, slots) on ``worker_sdk_metrics_port``; both Prometheus text over HTTP.
    metrics_host: str = "0.0.0.0"
    worker_metrics_port: int = 0
    worker_sdk_metrics_port: int = 0
    #: Outbound webhooks: per-request timeout, first retry delay (doubling up to the maximum), give-up age.
    webhook_timeout_seconds: float = 15.0
    webhook_retry_initial_seconds: float = 5.0
    webhook_retry_max_seconds: float = 3600.0
    webhook_give_up_hours: float = 72.0
    #: ``Idempotency-Key``: how long a response is replayed, and how long an unfinished request holds its key.
    idempotency_ttl_hours: float = 24.0
    idempotency_lock_seconds: float = 300.0
    #: Rate limits per environment, in requests per second per category (Novu's top-tier defaults);
    #: a window allows ``limit * window * (1 + burst)``; bulk calls cost ``rate_limit_bulk_cost``.
    rate_limit_enabled: bool = True
    rate_limit_trigger: float = 6000
    rate_limit_configuration: float = 2000
    rate_limit_global: float = 3000
    rate_limit_window_seconds: int = 1
    rate_limit_burst: float = 0.1
    rate_limit_bulk_cost: int = 100

    def local_activity_slots(self, is_sqlite: bool) -> int:
        """``worker_max_local_activities``, or its default for the app database when 0."""
        if self.worker_max_local_activities > 0:
            return self.worker_max_local_activities
        return 8 if is_sqlite else 200

    def resolved_database_url(self) -> str:
        """The app database URL; an SQLite file under the data directory unless one is given."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'tidings.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """The credential-encryption secret; generated once into the data directory when unset.

        The file is created with mode 0600 in one step (never readable by others, not even briefly), and
        exclusively: of two processes starting at once, the second reads the first one's key."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if path.exists():
            return path.read_text().strip()
        import secrets

        make_private_dir(self.data_dir)
        key = secrets.token_urlsafe(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as out:
            out.write(key)
        return key

    def credential_cipher(self) -> CredentialCipher:
        """The cipher for secrets at rest: the current secret, plus the previous one during a rotation."""
        from store.crypto import CredentialCipher

        return CredentialCipher(self.resolved_secret_key(), self.secret_key_previous or None)

    def temporal_execution_url(self, workflow_id: str) -> str:
        """The Temporal UI page of one execution (its history, with step summaries)."""
        from urllib.parse import quote

        base = (self.temporal_ui_url or f"http://127.0.0.1:{self.ui_port}").rstrip("/")
        return f"{base}/namespaces/{quote(self.temporal_namespace)}/workflows/{quote(workflow_id, safe='')}"

    def api_url(self) -> str:
        return self.public_url or f"http://{self.api_host}:{self.api_port}"


def make_private_dir(path: Path) -> None:
    """Create the data directory readable by its owner only (it holds the database and the secret)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def make_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (SQLite then keeps that mode, and gives it to
    its ``-wal``/``-shm`` files)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
