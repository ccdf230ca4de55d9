"""Console logging: readable lines by default, one JSON object per line with ``TIDINGS_LOG_FORMAT=json``.

Structured fields travel in ``extra={"fields": {...}}``; they are written as JSON keys (or appended to
the text line). Nothing here logs request bodies, headers or credentials.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure(log_format: str = "text", level: int = logging.INFO) -> None:
    """Send every logger's records to stderr in the chosen format (replacing earlier handlers)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Neither format writes the thread, process or source line of a record: not collecting them is the
    # Logging HOWTO's "optimization" recipe, and ~a third of the cost of the API's line per trigger.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # type: ignore[attr-defined]  # the HOWTO's way to skip findCaller()
    root.setLevel(level)
    # httpx logs every request at INFO with its full URL: provider URLs can carry credentials (a
    # Telegram bot token is part of the path), and a line per send is worker CPU at thousands of sends.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
