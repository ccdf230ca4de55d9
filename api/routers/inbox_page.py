"""``GET /inbox``: a page to watch one subscriber's Inbox live, mark notifications and change preferences.

Plain HTML/JS served from ``api/static/inbox`` (socket.io's browser client vendored there with its MIT
licence), so it works offline. On in ``tidings dev``; elsewhere only with ``TIDINGS_INBOX_PAGE=true``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.responses import FileResponse

from api.deps import SettingsDep
from api.errors import NotFound
from api.wire import WireRouter

router = WireRouter(tags=["inbox page"], include_in_schema=False)

STATIC = Path(__file__).resolve().parent.parent / "static" / "inbox"
ASSETS = {
    "inbox.js": "text/javascript",
    "inbox.css": "text/css",
    "vendor/socket.io.min.js": "text/javascript",
}


def _enabled(settings: SettingsDep) -> None:
    if not settings.inbox_page:
        raise NotFound("Cannot GET /inbox")


@router.get("/inbox")
async def page(settings: SettingsDep) -> FileResponse:
    _enabled(settings)
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/inbox/sw.js")
async def service_worker(settings: SettingsDep) -> FileResponse:
    """The page's service worker (shows Web Push notifications); served under /inbox/ for its scope."""
    _enabled(settings)
    return FileResponse(STATIC / "sw.js", media_type="text/javascript")


@router.get("/inbox/assets/{name:path}")
async def asset(name: str, settings: SettingsDep) -> FileResponse:
    _enabled(settings)
    if name not in ASSETS:
        raise NotFound(f"Cannot GET /inbox/assets/{name}")
    return FileResponse(STATIC / name, media_type=ASSETS[name])
