"""What the API's views share: settings, the one way to read tables, publishing, the clock, the read cache.

Tables are read only through :class:`TableReader`. ``faust_reader`` reads this worker's own table
partitions; when tables become readable on every worker (a global table, or routing requests to the
owning worker) only that function changes. Tests pass a reader over plain dicts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from streamfix.settings import Settings
from streamfix.web.security import RateLimiter

if TYPE_CHECKING:
    from streamfix.app import StreamfixApp


class TableReader(Protocol):
    def values(self, table: str) -> list[Any]: ...

    def get(self, table: str, key: str) -> Any: ...

    def size(self, table: str) -> int: ...


@dataclass(frozen=True, slots=True)
class MappingReader:
    """Reads tables that behave like mappings (Faust tables, or dicts in tests)."""

    tables: Mapping[str, Any]

    def values(self, table: str) -> list[Any]:
        return list(self.tables[table].values())

    def get(self, table: str, key: str) -> Any:
        return self.tables[table].get(key)

    def size(self, table: str) -> int:
        return len(self.tables[table])


def faust_reader(sf: StreamfixApp) -> TableReader:
    """The reader of this worker's tables."""
    return MappingReader(sf.tables)


Publish = Callable[[str, str, Any], Awaitable[None]]
"""``publish(role, key, value)``: put a value (a JSON object, or bytes for the raw topic) on a topic and wait until the broker has it."""


def faust_publisher(sf: StreamfixApp) -> Publish:
    async def publish(role: str, key: str, value: Any) -> None:
        fut = await sf.topics[role].send(key=key.encode("utf-8"), value=value)
        await fut

    return publish


@dataclass(slots=True)
class ReadCache:
    """Answers of read routes, reused for ``ttl`` seconds (0 disables it)."""

    ttl: float
    clock: Callable[[], float]
    max_entries: int = 256
    _entries: dict[str, tuple[float, bytes]] = field(default_factory=dict)

    def get_or_compute(self, key: str, compute: Callable[[], bytes]) -> bytes:
        if self.ttl <= 0:
            return compute()
        now = self.clock()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        body = compute()
        if len(self._entries) >= self.max_entries:
            self._entries = {k: v for k, v in self._entries.items() if now - v[0] < self.ttl}
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
        self._entries[key] = (now, body)
        return body


@dataclass(slots=True)
class ApiContext:
    settings: Settings
    reader: TableReader
    publish: Publish
    clock: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    limiter: RateLimiter = field(init=False)
    cache: ReadCache = field(init=False)
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    monitor: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.settings.api_rate_limit, self.settings.api_rate_burst, self.monotonic)
        self.cache = ReadCache(self.settings.api_cache_seconds, self.monotonic)

    @property
    def token(self) -> str | None:
        secret = self.settings.api_token
        return secret.get_secret_value() if secret is not None and secret.get_secret_value() else None
