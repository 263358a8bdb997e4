"""The one runner of log sources: topics, cursors, publisher and batch pipeline around a :class:`Source`.

:func:`run_source` drives any source (Railway, Loki, files, stdin: see
:class:`streamfix.sources.base.Source`); the ``watch_*`` functions build the source for
``streamfix watch ...`` and run it. Each runs until cancelled (or, for stdin, until EOF) and on the
way out flushes its last batch and writes its cursors.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import Sequence
from typing import BinaryIO

from streamfix.core.cursor import Cursor
from streamfix.core.formats import stream_key
from streamfix.kafka import topics
from streamfix.kafka.clients import KafkaPublisher, ensure_topics
from streamfix.runtime.settings import Settings
from streamfix.runtime.shiplogs import auth_headers
from streamfix.sources import railway
from streamfix.sources.base import BatchPipeline, Digests, Format, Source
from streamfix.sources.cursors import CursorStore, lines_published_after, load_cursors, recover
from streamfix.sources.files import FileSource, StdinSource
from streamfix.sources.loki import LokiPoller, LokiTarget, line_digests, make_client
from streamfix.sources.loki import stream_key as loki_stream_key
from streamfix.sources.loki_tail import run_live

log = logging.getLogger(__name__)
SOURCE_TOPICS = (topics.RAW, topics.SOURCE_CURSORS)


async def run_source(settings: Settings, source: Source, *, auto_fix: bool = False) -> int:
    """Publish what ``source`` reads until it ends, is stopped or is cancelled; returns its line count."""
    await ensure_topics(settings, SOURCE_TOPICS)
    keys = source.cursor_keys()
    stored = await load_cursors(settings, f"{source.kind}:") if keys else {}
    async with KafkaPublisher(settings) as pub, BatchPipeline(
        settings, pub, source.kind, fmt=source.fmt, auto_fix=auto_fix,
        cursor_saver=CursorStore(pub) if keys else None,
    ) as pipeline:
        if source.digests is not None:
            resumes = await recover(settings, {key: stored.get(key) for key in keys}, source.digests)
            for key, found in resumes.items():
                source.resume(key, found.cursor, found.skip)
                log.info("resuming", extra={"key": key, "since": found.cursor.ts_text})
        else:
            for key in keys:
                source.resume(key, stored.get(key), set())
        return await source.run(pipeline)


class RailwaySource:
    """``railway logs --json`` of some services (or every service of the linked project), one watcher and
    cursor per service. ``plan`` is what :func:`streamfix.sources.railway.prepare` found (the CLI command
    and the services); without it, :meth:`run` prepares first."""

    kind = "railway"
    fmt: Format = "railway"
    digests: Digests | None = None  # recovery counts copies on the raw topic (railway.recover_counts)

    def __init__(self, settings: Settings, *, services: Sequence[str] = (), environment: str | None = None,
                 interval: float | None = None, options: railway.RailwayOptions | None = None,
                 plan: railway.Plan | None = None) -> None:
        self.settings = settings
        self.services: list[str | None] = list(plan.services if plan else services) or [None]
        self.environment = environment
        self.options = options or railway.RailwayOptions()
        if interval is not None:
            self.options.interval = interval
        self.plan = plan
        self.limiter = railway.SpawnLimiter(state_path=settings.data_dir / "railway-cli-starts")
        self.cursors: dict[str, Cursor | None] = {}
        self._task: asyncio.Task[object] | None = None

    def _key(self, service: str | None) -> str:
        return f"railway:{service or '-'}@{self.environment or '-'}"

    def default_stream_key(self) -> str:
        return stream_key("railway", service=self.services[0] or "-", deployment="-", replica="-")

    def cursor_keys(self) -> list[str]:
        return [self._key(service) for service in self.services]

    def resume(self, key: str, cursor: Cursor | None, skip: set[tuple[int, str]]) -> None:
        self.cursors[key] = cursor

    async def run(self, pipeline: BatchPipeline) -> int:
        self._task = asyncio.current_task()
        plan = self.plan or await railway.prepare(
            self.settings.railway_bin, [s for s in self.services if s], self.environment, self.limiter
        )
        watchers = [
            railway.RailwayWatcher(pipeline, command=plan.command, service=service,
                                   environment=self.environment, options=self.options, limiter=self.limiter)
            for service in plan.services
        ]
        cursors = {w.key: self.cursors.get(w.key) for w in watchers}
        found = await railway.recover_counts(self.settings, cursors)
        railway.carry_offsets(pipeline, [c for c in cursors.values() if c is not None])
        for watcher in watchers:
            if cursors[watcher.key] is not None or found[watcher.key]:
                watcher.resume(cursors[watcher.key], found[watcher.key])
                log.info("resuming", extra={"key": watcher.key, "cursor": cursors[watcher.key] is not None})
        async with asyncio.TaskGroup() as group:
            for watcher in watchers:
                group.create_task(watcher.run(), name=watcher.key)
        return sum(w.stats.published for w in watchers)

    def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()


class LokiSource:
    """One LogQL query, polled forward (or tailed with ``live``); one cursor per URL and query."""

    kind = "loki"
    fmt: Format = "loki"
    digests: Digests | None = staticmethod(line_digests)

    def __init__(self, settings: Settings, target: LokiTarget, *, interval: float | None = None,
                 live: bool = False) -> None:
        self.settings = settings
        self.target = target
        self.interval = interval or settings.loki_poll_interval
        self.live = live
        self.cursor: Cursor | None = None
        self.skip: set[tuple[int, str]] = set()
        self._task: asyncio.Task[object] | None = None

    def default_stream_key(self) -> str:
        return loki_stream_key({})

    def cursor_keys(self) -> list[str]:
        return [self.target.cursor_key]

    def resume(self, key: str, cursor: Cursor | None, skip: set[tuple[int, str]]) -> None:
        self.cursor, self.skip = cursor, skip

    async def run(self, pipeline: BatchPipeline) -> int:
        self._task = asyncio.current_task()
        settings = self.settings
        async with make_client(settings, self.target) as client:
            poller = LokiPoller(
                pipeline,
                client,
                self.target,
                cursor=self.cursor,
                page_limit=settings.loki_page_limit,
                lookback_seconds=settings.loki_lookback_seconds,
            )
            poller.dedupe.skip = self.skip
            if self.live:
                await run_live(poller, auth_headers(settings, self.target.org_id), self.interval)
            else:
                await poller.run(self.interval)
        return poller.stats.published

    def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()


async def watch_railway(settings: Settings, *, services: Sequence[str] = (), environment: str | None = None,
                        interval: float | None = None, auto_fix: bool = False,
                        options: railway.RailwayOptions | None = None) -> None:
    """Watch the given services (every service of the linked project when ``services`` is empty) until
    cancelled. The CLI, the login and the link are checked first, so a problem fails in one line."""
    limiter = railway.SpawnLimiter(state_path=settings.data_dir / "railway-cli-starts")
    plan = await railway.prepare(settings.railway_bin, services, environment, limiter)
    source = RailwaySource(settings, environment=environment, interval=interval, options=options, plan=plan)
    source.limiter = limiter
    await run_source(settings, source, auto_fix=auto_fix)


async def watch_loki(
    settings: Settings,
    target: LokiTarget,
    *,
    interval: float | None = None,
    live: bool = False,
    auto_fix: bool = False,
) -> None:
    """Poll (or tail) one LogQL query until cancelled."""
    await run_source(settings, LokiSource(settings, target, interval=interval, live=live), auto_fix=auto_fix)


async def watch_files(
    settings: Settings,
    paths: Sequence[str],
    *,
    interval: float = 0.25,
    from_start: bool = True,
    auto_fix: bool = False,
    fmt: Format = "auto",
) -> None:
    source = FileSource(paths, interval=interval, from_start=from_start, fmt=fmt,
                        published_after=functools.partial(lines_published_after, settings))
    await run_source(settings, source, auto_fix=auto_fix)


async def watch_stdin(settings: Settings, *, stream: BinaryIO | None = None, name: str = "stdin",
                      auto_fix: bool = False, fmt: Format = "auto") -> int:
    source = StdinSource(stream or sys.stdin.buffer, name=name, fmt=fmt)
    return await run_source(settings, source, auto_fix=auto_fix)


SOURCES: tuple[type[Source], ...] = (RailwaySource, LokiSource, FileSource, StdinSource)
"""Every kind of source (mypy checks that each implements :class:`~streamfix.sources.base.Source`)."""
