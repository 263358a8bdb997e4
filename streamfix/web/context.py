"""What the API's views share: settings, the one way to read tables, publishing, the clock, the read cache.

Tables are read only through :class:`TableReader`, which hands out typed records
(:class:`~streamfix.core.records.Pattern`, :class:`~streamfix.core.records.FixState`). ``faust_reader``
reads the changelog views every worker holds in full (and this worker's own partitions of other
tables). Tests pass a reader over plain dicts. Records go to topics through the worker's
:class:`~streamfix.kafka.publish.Publisher`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from streamfix.core.records import FIX_STATES, PATTERNS, FixState, Pattern
from streamfix.kafka.publish import Publisher, TopicPublisher
from streamfix.runtime.settings import Settings
from streamfix.runtime.shared import StreamfixApp
from streamfix.web.security import RateLimiter


class TableReader(Protocol):
    def patterns(self) -> list[Pattern]: ...

    def pattern(self, fingerprint: str) -> Pattern | None: ...

    def fix_state(self, fingerprint: str) -> FixState | None: ...

    def fixes(self) -> list[Any]:
        """Every pattern's fix history (``{fix_id: FixResult JSON}``)."""
        ...

    def fix_history(self, fingerprint: str) -> Mapping[str, Any] | None: ...

    def alert_states(self) -> list[Mapping[str, Any]]:
        """The alerts agent's per-pattern rate state of this worker's partitions (empty without it)."""
        ...


def _pattern(value: Any) -> Pattern:
    return value if isinstance(value, Pattern) else PATTERNS.decode(value)


@dataclass(frozen=True, slots=True)
class MappingReader:
    """Reads tables that behave like mappings (Faust tables, or dicts in tests). Values are records, or
    their JSON objects (decoded on the way out)."""

    tables: Mapping[str, Any]

    def values(self, table: str) -> list[Any]:
        return list(self.tables[table].values())

    def patterns(self) -> list[Pattern]:
        return [_pattern(v) for v in self.values("patterns") if v is not None]

    def pattern(self, fingerprint: str) -> Pattern | None:
        value = self.tables["patterns"].get(fingerprint)
        return None if value is None else _pattern(value)

    def fix_state(self, fingerprint: str) -> FixState | None:
        value = self.tables["fix_state"].get(fingerprint)
        return value if value is None or isinstance(value, FixState) else FIX_STATES.decode(value)

    def fixes(self) -> list[Any]:
        return self.values("fixes")

    def fix_history(self, fingerprint: str) -> Mapping[str, Any] | None:
        history: Mapping[str, Any] | None = self.tables["fixes"].get(fingerprint)
        return history

    def alert_states(self) -> list[Mapping[str, Any]]:
        if "alert_state" not in self.tables:
            return []
        return [v for v in self.values("alert_state") if isinstance(v, Mapping)]


@dataclass(frozen=True, slots=True)
class FaustReader(MappingReader):
    """Faust tables and changelog views. Where the values sit in a plain dict (a view's ``data``, or
    the in-memory store's ``data.data``) they are copied in one C-level step instead of one lookup
    per key: 10k patterns in well under a millisecond."""

    def values(self, table: str) -> list[Any]:
        source = self.tables[table]
        held = getattr(source, "data", None)
        for raw in (held, getattr(held, "data", None)):
            if type(raw) is dict:
                return list(raw.values())
        return list(source.values())


def faust_reader(sf: StreamfixApp) -> TableReader:
    """Tables as every worker sees them: patterns and fixes from the full changelog views
    (:mod:`streamfix.kafka.views`), other tables from this worker's own partitions."""
    return FaustReader({**sf.tables, **sf.views})


def faust_publisher(sf: StreamfixApp) -> Publisher:
    return TopicPublisher(sf.topics)


FAST_SWITCH_INTERVAL = 0.0005


@dataclass(slots=True)
class ReadCache:
    """Answers of read routes, reused for ``ttl`` seconds (0: computed inline on every request).

    A missing or expired answer is computed on one background thread from a snapshot of the tables
    taken on the event loop, so the loop keeps serving while 10k patterns are sorted. Concurrent
    requests for the same answer share one computation, and while a refresh runs the previous
    answer is served if it is younger than ``max_stale`` seconds.
    """

    ttl: float
    clock: Callable[[], float]
    max_stale: float = 10.0
    max_entries: int = 256
    _entries: dict[str, tuple[float, bytes]] = field(default_factory=dict)
    _pending: dict[str, asyncio.Future[bytes]] = field(default_factory=dict)
    _executor: ThreadPoolExecutor | None = None
    _switch_interval: float = 0.005

    async def get(self, key: str, load: Callable[[], Any], compute: Callable[[Any], bytes]) -> bytes:
        if self.ttl <= 0:
            return compute(load())
        now = self.clock()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        pending = self._pending.get(key)
        if pending is None:
            pending = self._start(key, load(), compute)
        if hit is not None and now - hit[0] < max(self.ttl, self.max_stale):
            return hit[1]
        return await asyncio.shield(pending)

    def _start(self, key: str, snapshot: Any, compute: Callable[[Any], bytes]) -> asyncio.Future[bytes]:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="streamfix-api")
        started = self.clock()
        if not self._pending:
            # While a computation holds the GIL on the background thread, a short switch interval lets
            # the event loop take it back quickly, so requests do not queue behind the computation;
            # the default interval (better for stream throughput) returns when nothing is computing.
            self._switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(FAST_SWITCH_INTERVAL)
        future = asyncio.get_running_loop().run_in_executor(self._executor, compute, snapshot)
        self._pending[key] = future

        def done(f: asyncio.Future[bytes]) -> None:
            self._pending.pop(key, None)
            if not self._pending:
                sys.setswitchinterval(self._switch_interval)
            if not f.cancelled() and f.exception() is None:
                self._store(key, started, f.result())

        future.add_done_callback(done)
        return future

    def _store(self, key: str, stamp: float, body: bytes) -> None:
        if len(self._entries) >= self.max_entries:
            now = self.clock()
            self._entries = {k: v for k, v in self._entries.items() if now - v[0] < self.ttl}
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
        self._entries[key] = (stamp, body)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


@dataclass(slots=True)
class ApiContext:
    settings: Settings
    reader: TableReader
    publisher: Publisher
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
