"""Settings read from ``TIDINGS_*`` environment variables (created at start-up, never at import)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    slack_oauth_base_url: str = "https://slack.com"
    provider_base_urls: dict[str, str] = Field(default_factory=dict)
    #: Tries per integration for transient provider errors (backoff doubles from the first delay)
    #: before the next integration is tried.
    provider_attempts: int = 3
    provider_backoff_seconds: float = 0.5
    provider_timeout_seconds: float = 10.0
    #: Let webhooks (and other outbound calls) reach loopback/private/link-local addresses (on under
    #: ``tidings dev``; off in production so a tenant cannot aim Tidings at internal services).
    allow_private_destinations: bool = False
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

    def resolved_database_url(self) -> str:
        """The app database URL; an SQLite file under the data directory unless one is given."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'tidings.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """The credential-encryption secret; generated once into the data directory when unset."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if path.exists():
            return path.read_text().strip()
        import secrets

        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        path.write_text(key)
        path.chmod(0o600)
        return key

    def temporal_execution_url(self, workflow_id: str) -> str:
        """The Temporal UI page of one execution (its history, with step summaries)."""
        from urllib.parse import quote

        base = (self.temporal_ui_url or f"http://127.0.0.1:{self.ui_port}").rstrip("/")
        return f"{base}/namespaces/{quote(self.temporal_namespace)}/workflows/{quote(workflow_id, safe='')}"

    def api_url(self) -> str:
        return self.public_url or f"http://{self.api_host}:{self.api_port}"
