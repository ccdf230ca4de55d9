"""An API process's cache of what each trigger reads (definition, tenant and override, API key), kept
exactly as long as the environment's version stamp (``store/config_versions.py``) is unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cachetools import LRUCache
from sqlmodel.ext.asyncio.session import AsyncSession

from store.config_versions import Stamps
from store.db import Database

T = TypeVar("T")

#: Environments kept (least recently used go first) and entries per environment (then it starts over).
MAX_ENVIRONMENTS = 10_000
MAX_ENTRIES_PER_ENVIRONMENT = 2_000


_NOW = object()


@dataclass
class _Entries:
    stamp: Hashable
    values: dict[Hashable, Any] = field(default_factory=dict)


class ConfigCache:
    """Values per environment, served while ``stamps.stamp(environment)`` is what it was when they were
    read. A value read while the stamp moved is returned but not kept; without a stamp (a PostgreSQL
    listener reconnecting, an unreadable SQLite file) every look-up goes to the database."""

    def __init__(self, stamps: Stamps) -> None:
        self.stamps = stamps
        self._envs: LRUCache[str, _Entries] = LRUCache(maxsize=MAX_ENVIRONMENTS)
        self.hits = 0
        self.loads = 0

    def stamp(self, environment_id: str) -> Hashable | None:
        return self.stamps.stamp(environment_id)

    async def fetch(
        self,
        environment_id: str,
        key: Hashable,
        load: Callable[[], Awaitable[T]],
        *,
        stamp: Hashable | None | object = _NOW,
    ) -> T:
        """The cached value for ``key``, or ``await load()`` (kept if the stamp held still meanwhile).

        ``stamp``: the environment's stamp taken before the transaction ``load`` reads in began (several
        look-ups sharing one SQLite read transaction see its first read's snapshot); else taken now."""
        if stamp is _NOW:
            stamp = self.stamps.stamp(environment_id)
        entries = self._envs.get(environment_id) if stamp is not None else None
        if entries is not None and entries.stamp == stamp and key in entries.values:
            self.hits += 1
            return entries.values[key]  # type: ignore[no-any-return]
        self.loads += 1
        value = await load()
        self.put(environment_id, key, value, stamp)
        return value

    def put(self, environment_id: str, key: Hashable, value: Any, stamp: Hashable | None) -> None:
        """Keep ``value``, read under ``stamp`` (taken *before* the read), if that stamp is still current."""
        if stamp is None or self.stamps.stamp(environment_id) != stamp:
            return
        entries = self._envs.get(environment_id)
        if entries is None or entries.stamp != stamp or len(entries.values) >= MAX_ENTRIES_PER_ENVIRONMENT:
            entries = self._envs[environment_id] = _Entries(stamp)
        entries.values[key] = value

    def clear(self) -> None:
        self._envs.clear()


class LazySession:
    """One read session for all of a request's cache misses, opened only if one happens. ``stamp`` is the
    environment's stamp taken before it could open (what the misses it serves are cached under)."""

    def __init__(self, db: Database, stamp: Hashable | None = None) -> None:
        self.db = db
        self.stamp = stamp
        self._session: AsyncSession | None = None
        self._open: Any = None

    async def get(self) -> AsyncSession:
        if self._session is None:
            self._open = self.db.read()
            self._session = await self._open.__aenter__()
        return self._session

    async def close(self) -> None:
        """End the read transaction by committing, also when the request failed: a rollback would expire
        the instances read in it, which the cache may now hold (and a read transaction has nothing to undo)."""
        if self._open is not None:
            opened, self._open, self._session = self._open, None, None
            await opened.__aexit__(None, None, None)


@asynccontextmanager
async def lazy_session(db: Database, stamp: Hashable | None = None) -> AsyncIterator[LazySession]:
    lazy = LazySession(db, stamp)
    try:
        yield lazy
    finally:
        await lazy.close()
