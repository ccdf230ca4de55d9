"""One handler per step type: ``async (runner, spec) -> result``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from workflows.steps import channel, custom, delay, digest, throttle

if TYPE_CHECKING:
    from workflows.engine import StepRunner
    from workflows.models import StepSpec

Handler = Callable[["StepRunner", "StepSpec"], Awaitable[Any]]

HANDLERS: dict[str, Handler] = {
    "in_app": channel.run,
    "email": channel.run,
    "sms": channel.run,
    "chat": channel.run,
    "push": channel.run,
    "delay": delay.run,
    "digest": digest.run,
    "throttle": throttle.run,
    "custom": custom.run,
}
