"""Loki source: polls ``/loki/api/v1/query_range`` forward in time, optionally tails it live.

The cursor is the last timestamp published plus the hashes of the entries seen at it. Each poll asks
for ``[cursor, now)`` (``start`` is inclusive) with ``direction=forward`` and ``limit`` at most 5000;
a full page means there may be more, so the next page starts at the last timestamp of this one —
again inclusive, because a page can end inside a run of equal timestamps — and the
:class:`~streamfix.core.cursor.Deduper` drops what was already taken. ``streamfix scan`` and the REST
API backfill through :func:`scan`, which uses the same poller over the last N hours.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from streamfix.core import formats
from streamfix.core.cursor import Backoff, Cursor, Deduper, line_hash
from streamfix.errors import ConfigError, SourceError, StreamfixError
from streamfix.kafka.wire import RawBatch
from streamfix.runtime.settings import Settings
from streamfix.runtime.shiplogs import auth_headers
from streamfix.sources.base import CURSOR_LABEL, BatchPipeline, BatchSender, content_batch_id, count_dropped

log = logging.getLogger(__name__)

QUERY_RANGE = "/loki/api/v1/query_range"
MAX_LIMIT = 5000
SCAN_BUCKET_NS = 60 * 1_000_000_000  # a scan reads whole, aligned minutes
Entry = tuple[int, str, str]  # (ts_ns, stream key, line)


class LokiUnavailable(SourceError):
    """Loki could not be reached or answered 5xx; the watcher retries."""


@dataclass(frozen=True, slots=True)
class LokiTarget:
    url: str
    query: str
    org_id: str | None = None

    @property
    def cursor_key(self) -> str:
        return f"loki:{line_hash(self.url, self.query)}"


def target_from_settings(settings: Settings, *, url: str | None = None, query: str | None = None,
                         org_id: str | None = None) -> LokiTarget:
    """The Loki URL and query, or a :class:`ConfigError` naming the missing one."""
    base = url or settings.loki_url
    if not base:
        raise ConfigError("no Loki URL: pass --url or set STREAMFIX_LOKI_URL")
    logql = query or settings.loki_query
    if not logql:
        raise ConfigError("no LogQL query: pass --query or set STREAMFIX_LOKI_QUERY")
    return LokiTarget(base.rstrip("/"), logql, org_id or settings.loki_org_id)


def make_client(settings: Settings, target: LokiTarget) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=target.url, headers=auth_headers(settings, target.org_id), timeout=settings.loki_timeout
    )


def stream_key(labels: dict[str, str]) -> str:
    return formats.stream_key("loki", labels=",".join(f'{k}="{v}"' for k, v in sorted(labels.items())))


def flatten_streams(result: list[dict[str, Any]]) -> tuple[list[Entry], dict[str, dict[str, str]]]:
    """Loki's ``result`` (streams with values) → entries sorted by timestamp, and labels by key."""
    entries: list[Entry] = []
    labels_by_key: dict[str, dict[str, str]] = {}
    for item in result:
        labels = {str(k): str(v) for k, v in (item.get("stream") or {}).items()}
        key = stream_key(labels)
        labels_by_key[key] = labels
        entries.extend((int(ts), key, line) for ts, line, *_ in item.get("values") or ())
    entries.sort(key=lambda e: e[0])
    return entries, labels_by_key


async def query_range(client: httpx.AsyncClient, query: str, start_ns: int, end_ns: int,
                      limit: int) -> tuple[list[Entry], dict[str, dict[str, str]]]:
    """One forward page of ``[start_ns, end_ns)``."""
    params = {"query": query, "start": str(start_ns), "end": str(end_ns), "limit": str(min(limit, MAX_LIMIT)),
              "direction": "forward"}
    try:
        resp = await client.get(QUERY_RANGE, params=params)
    except httpx.HTTPError as exc:
        raise LokiUnavailable(f"cannot reach Loki at {client.base_url}: {exc}") from exc
    check_response(resp)
    body = resp.json()
    data = body.get("data") or {}
    if body.get("status") != "success" or data.get("resultType") != "streams":
        raise SourceError(f"unexpected Loki response: status={body.get('status')!r}")
    return flatten_streams(data.get("result") or [])


def line_digests(batch: RawBatch) -> Iterator[tuple[int, str, str]]:
    """``(ts_ns, "", hash)`` of a published Loki batch's lines, hashed as the poller hashes them."""
    for ts, line in zip(batch.timestamps_ns or (), batch.lines, strict=False):
        yield ts, "", line_hash(batch.stream, line)


def check_response(resp: httpx.Response) -> None:
    if resp.status_code in (401, 403):
        raise SourceError(
            f"Loki rejected the credentials (HTTP {resp.status_code}): {resp.text.strip()[:200]}"
        )
    if resp.status_code >= 500 or resp.status_code == 429:
        raise LokiUnavailable(f"Loki answered HTTP {resp.status_code}: {resp.text.strip()[:200]}")
    if resp.status_code >= 400:
        raise SourceError(f"Loki refused the query (HTTP {resp.status_code}): {resp.text.strip()[:200]}")


async def preflight(settings: Settings, target: LokiTarget) -> None:
    """One tiny query, so a wrong URL or credential fails before anything else starts."""
    now = time.time_ns()
    async with make_client(settings, target) as client:
        await query_range(client, target.query, now - 1_000_000_000, now, 1)


@dataclass(slots=True)
class PollStats:
    pages: int = 0
    entries: int = 0
    published: int = 0


class LokiPoller:
    """Publishes new entries of one query, in timestamp order, resuming from its cursor."""

    def __init__(
        self,
        pipeline: BatchPipeline,
        client: httpx.AsyncClient,
        target: LokiTarget,
        *,
        cursor: Cursor | None = None,
        page_limit: int = MAX_LIMIT,
        lookback_seconds: float = 300.0,
        save_cursor: bool = True,
        on_page: Callable[[int, int], None] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.client = client
        self.target = target
        self.dedupe = Deduper(cursor)
        self.page_limit = min(page_limit, MAX_LIMIT)
        self.lookback_ns = int(lookback_seconds * 1e9)
        self.save_cursor = save_cursor
        self.on_page = on_page
        self.stats = PollStats()

    def handle(self, entries: list[Entry], labels_by_key: dict[str, dict[str, str]]) -> int:
        """Dedupe and buffer sorted entries; returns how many were new."""
        accepted = 0
        dedupe, pipeline = self.dedupe, self.pipeline
        late = dedupe.late
        tagged = {
            key: {**labels, CURSOR_LABEL: self.target.cursor_key} for key, labels in labels_by_key.items()
        }
        for ts, key, line in entries:
            if dedupe.accept(ts, line_hash(key, line)):
                pipeline.add(key, tagged[key], line, ts)
                accepted += 1
        if self.save_cursor:
            pipeline.set_cursor(self.target.cursor_key, dedupe.cursor)
        # Only tail frames can hold entries older than the cursor; they arrived too late to keep order.
        count_dropped("loki", "out_of_order", dedupe.late - late, "entries older than the last one published")
        self.stats.published += accepted
        return accepted

    async def poll_range(self, start_ns: int, end_ns: int) -> int:
        """Publish everything in ``[start_ns, end_ns)`` not yet taken; pages while pages come back full."""
        total = 0
        start = max(start_ns, self.dedupe.cursor.ts_ns)
        while start < end_ns:
            entries, labels = await query_range(
                self.client, self.target.query, start, end_ns, self.page_limit
            )
            self.stats.pages += 1
            self.stats.entries += len(entries)
            accepted = self.handle(entries, labels)
            total += accepted
            await self.pipeline.flush()
            if self.on_page is not None:
                self.on_page(accepted, entries[-1][0] if entries else end_ns)
            if len(entries) < self.page_limit:
                break
            last = entries[-1][0]
            if last == start:
                count_dropped("loki", "equal_timestamp_overflow", 1,
                              f"{self.page_limit}+ entries share timestamp {start}; the rest are skipped")
                last = start + 1
            start = last
        return total

    async def poll_once(self, now_ns: int | None = None) -> int:
        end = now_ns if now_ns is not None else time.time_ns()
        start = self.dedupe.cursor.ts_ns or end - self.lookback_ns
        return await self.poll_range(start, end)

    async def run(self, interval: float) -> None:
        """Poll forever; transient Loki failures back off, other errors propagate."""
        backoff = Backoff(initial=1.0, maximum=60.0)
        while True:
            try:
                await self.poll_once()
                backoff.reset()
                await asyncio.sleep(interval)
            except LokiUnavailable as exc:
                delay = backoff.next_delay()
                log.warning("Loki unavailable; retrying", extra={"error": str(exc), "delay_s": delay})
                await asyncio.sleep(delay)


@dataclass(slots=True)
class ScanResult:
    """What a backfill did: entries published, pages read, the range and how long it took."""

    lines: int = 0
    pages: int = 0
    batches: int = 0
    start_ns: int = 0
    end_ns: int = 0
    duration_s: float = 0.0
    query: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


async def scan(
    settings: Settings,
    hours: float,
    auto_fix: bool,
    publisher: BatchSender,
    *,
    url: str | None = None,
    query: str | None = None,
    org_id: str | None = None,
    on_page: Callable[[int, int], None] | None = None,
    now_ns: int | None = None,
    since_ns: int | None = None,
) -> ScanResult:
    """Backfill the last ``hours`` of the configured Loki query onto the raw topic.

    With ``since_ns`` (the periodic monitor, continuing where its previous scan ended) the range is
    exactly ``[since_ns, now_ns)``, not widened to whole minutes: consecutive windows do not overlap,
    so nothing is read twice, and a line is published within one interval of being logged.

    The range is widened and cut to whole minutes (start rounded down, end rounded down: the minute
    still in progress is left to the watcher) and read one minute at a time, so every scan that covers
    a minute cuts it into the same batches, and each batch is named by its content
    (:func:`~streamfix.sources.base.content_batch_id`). The ingest agent drops a batch whose id it
    has seen (``STREAMFIX_DEDUPE_WINDOW_SECONDS``): a scan repeated over the same hours counts nothing
    twice. The watcher's cursor is neither used nor moved. ``on_page(new_lines, last_ts_ns)`` is called
    after each page (the CLI drives its progress line with it).
    """
    if hours <= 0:
        raise ConfigError("--hours must be positive")
    target = target_from_settings(settings, url=url, query=query, org_id=org_id)
    end = now_ns if now_ns is not None else time.time_ns()
    if since_ns is not None:
        start = min(since_ns, end)
    else:
        start = (end - int(hours * 3600 * 1e9)) // SCAN_BUCKET_NS * SCAN_BUCKET_NS
        end = end // SCAN_BUCKET_NS * SCAN_BUCKET_NS
    began = time.monotonic()
    async with make_client(settings, target) as client, BatchPipeline(
        settings, publisher, "loki", fmt="loki", auto_fix=auto_fix, batch_id=content_batch_id("loki-scan"),
    ) as pipeline:
        poller = LokiPoller(pipeline, client, target, page_limit=settings.loki_page_limit, save_cursor=False,
                            on_page=on_page)
        lines = 0
        for bucket in range(start, end, SCAN_BUCKET_NS):
            lines += await poller.poll_range(bucket, min(bucket + SCAN_BUCKET_NS, end))
    log.info("scan finished", extra={"lines": lines, "pages": poller.stats.pages, "hours": hours})
    return ScanResult(lines, poller.stats.pages, pipeline.stats.batches, start, end, time.monotonic() - began,
                      target.query)


MONITOR_SETTLE_SECONDS = 2.0
"""Loki makes a line queryable a little after its timestamp; a window that ends at "now" would skip
such lines for good, since the next window starts where this one ended."""


async def monitor(
    settings: Settings, publisher: BatchSender, interval: float, *,
    on_scan: Callable[[ScanResult], None], on_error: Callable[[str], None],
) -> None:
    """Scan Loki every ``interval`` seconds until cancelled, each scan from where the previous one ended.

    ``on_scan`` gets every scan's result, ``on_error`` the message of every failed scan; a failed scan
    never ends the loop (the next one tries again from the same place).
    """
    last_end: int | None = None
    while True:
        now_ns = time.time_ns() - int(MONITOR_SETTLE_SECONDS * 1e9)
        hours = interval / 3600 if last_end is None else max(1e-6, (now_ns - last_end) / 3.6e12)
        try:
            result = await scan(settings, hours, settings.auto_fix_enabled, publisher, now_ns=now_ns,
                                since_ns=last_end)
            last_end = result.end_ns
            on_scan(result)
        except StreamfixError as exc:
            log.warning("periodic Loki scan failed", extra={"error": str(exc)})
            on_error(str(exc))
        except Exception as exc:  # the loop outlives any one scan; the next one tries again
            log.exception("periodic Loki scan crashed")
            on_error(repr(exc))
        await asyncio.sleep(interval)

