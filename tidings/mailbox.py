"""A local SMTP sink for ``tidings dev``: every email is saved under ``<data dir>/mailbox``."""

from __future__ import annotations

import email
import email.policy
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _SaveHandler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        raw = envelope.original_content or envelope.content
        path = self.folder / f"{time.time_ns()}.eml"
        path.write_bytes(raw)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        print(f"[mailbox] to {', '.join(envelope.rcpt_tos)}: {msg['Subject']!s} -> {path}", flush=True)
        return "250 Message accepted for delivery"


def start_mailbox(host: str, port: int, folder: Path) -> Controller:
    controller = Controller(_SaveHandler(folder), hostname=host, port=port)
    controller.start()
    return controller
