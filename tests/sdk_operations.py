"""The operations of the official SDKs, found by walking them (so docs/sdk-compatibility.md cannot go stale).

novu-py: every public method of ``Novu(...)`` and its sub-SDKs (loaded lazily, listed by ``dir``)
whose generated body builds a request (``method="…", path="…"``). @novu/api: the same walk over the
TypeScript client under Node (tests/clients/js_api/list_operations.mjs); it is generated from the same
OpenAPI document, so its names are the camelCase of novu-py's.
"""

from __future__ import annotations

import inspect
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from novu_py import Novu
from novu_py.basesdk import BaseSDK

JS_DIR = Path(__file__).parent / "clients" / "js_api"
_REQUEST = re.compile(r'method="(\w+)",\s*path="([^"]+)"')


@dataclass(frozen=True)
class Operation:
    name: str  # dotted novu-py name, e.g. "subscribers.preferences.bulk_update"
    method: str
    path: str

    @property
    def js_name(self) -> str:
        return ".".join(camel(part) for part in self.name.split("."))


def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def novu_py_operations() -> list[Operation]:
    client = Novu(secret_key="x", server_url="http://127.0.0.1:9")
    found: dict[str, Operation] = {}
    seen: set[int] = set()

    def walk(obj: object, prefix: str) -> None:
        for attr in sorted(dir(obj)):
            if attr.startswith("_") or attr in ("parent_ref", "sdk_configuration"):
                continue
            value = getattr(obj, attr)
            name = f"{prefix}.{attr}" if prefix else attr
            if isinstance(value, BaseSDK):
                if id(value) not in seen:
                    seen.add(id(value))
                    walk(value, name)
            elif inspect.ismethod(value) and not attr.endswith("_async"):
                match = _REQUEST.search(inspect.getsource(value))
                if match:
                    found[name] = Operation(name, match.group(1), match.group(2))

    walk(client, "")
    return sorted(found.values(), key=lambda op: op.name)


def novu_api_operations() -> list[str]:
    """Dotted @novu/api operation names (needs node and ``npm ci`` in tests/clients/js_api)."""
    done = subprocess.run(
        ["node", "list_operations.mjs"], cwd=JS_DIR, capture_output=True, text=True, timeout=60, check=True
    )
    return [line for line in done.stdout.splitlines() if line]
