"""Identifiers shaped like Mongo ObjectIds (24 hex characters), as Novu's clients expect."""

import os
import threading
import time

_counter = int.from_bytes(os.urandom(3), "big")
_lock = threading.Lock()
_machine = os.urandom(5)


def new_id() -> str:
    """A 24-hex id: 4 bytes of seconds, 5 random bytes, a 3-byte counter — sortable by creation time."""
    global _counter
    with _lock:
        _counter = (_counter + 1) % 0xFFFFFF
        count = _counter
    return (int(time.time()).to_bytes(4, "big") + _machine + count.to_bytes(3, "big")).hex()


def new_ids(count: int) -> list[str]:
    """``count`` ids as :func:`new_id` makes them, with one clock read and one lock (a cohort's rows)."""
    global _counter
    with _lock:
        start = _counter
        _counter = (_counter + count) % 0xFFFFFF
    prefix = (int(time.time()).to_bytes(4, "big") + _machine).hex()
    return [f"{prefix}{(start + n) % 0xFFFFFF:06x}" for n in range(1, count + 1)]


def is_object_id(value: str) -> bool:
    return len(value) == 24 and all(c in "0123456789abcdef" for c in value.lower())
