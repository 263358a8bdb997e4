"""Entry points that wire a source to Kafka: topics, cursors, publisher, pipeline, watcher.

The CLI (``streamfix watch ...``) and the integration tests call these; each runs until cancelled
(or, for stdin, until EOF) and on the way out flushes its last batch and writes its cursors.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import BinaryIO

from streamfix.kafka import topics
from streamfix.kafka.clients import Publisher, ensure_topics
from streamfix.runtime.settings import Settings
from streamfix.sources import loki, railway
from streamfix.sources.base import BatchPipeline, Format
from streamfix.sources.cursors import CursorStore, load_cursors, recover
from streamfix.sources.files import follow_files, read_stdin
from streamfix.sources.loki import LokiPoller, LokiTarget, auth_headers, make_client
from streamfix.sources.loki_tail import run_live

log = logging.getLogger(__name__)
SOURCE_TOPICS = (topics.RAW, topics.SOURCE_CURSORS)


async def watch_railway(settings: Settings, *, services: Sequence[str] = (), environment: str | None = None,
                        interval: float | None = None, auto_fix: bool = False,
                        options: railway.RailwayOptions | None = None) -> None:
    """Watch the given services (every service of the linked project when ``services`` is empty) until cancelled."""
    opts = options or railway.RailwayOptions()
    if interval is not None:
        opts.interval = interval
    limiter = railway.SpawnLimiter(state_path=settings.data_dir / "railway-cli-starts")
    plan = await railway.prepare(settings.railway_bin, services, environment, limiter)
    await ensure_topics(settings, SOURCE_TOPICS)
    cursors = await load_cursors(settings, "railway:")
    async with Publisher(settings) as pub, BatchPipeline(
        settings, pub, "railway", fmt="railway", auto_fix=auto_fix, cursor_saver=CursorStore(pub)
    ) as pipeline:
        watchers = [
            railway.RailwayWatcher(pipeline, command=plan.command, service=service, environment=environment,
                                   options=opts, limiter=limiter)
            for service in plan.services
        ]
        found = await railway.recover_counts(settings, {w.key: cursors.get(w.key) for w in watchers})
        railway.carry_offsets(pipeline, [c for c in cursors.values() if c is not None])
        for watcher in watchers:
            if cursors.get(watcher.key) is not None or found[watcher.key]:
                watcher.resume(cursors.get(watcher.key), found[watcher.key])
                log.info("resuming", extra={"key": watcher.key, "cursor": watcher.key in cursors})
        async with asyncio.TaskGroup() as group:
            for watcher in watchers:
                group.create_task(watcher.run(), name=watcher.key)


async def watch_loki(settings: Settings, target: LokiTarget, *, interval: float | None = None, live: bool = False,
                     auto_fix: bool = False) -> None:
    """Poll (or tail) one LogQL query until cancelled."""
    await ensure_topics(settings, SOURCE_TOPICS)
    cursors = await load_cursors(settings, "loki:")
    async with make_client(settings, target) as client, Publisher(settings) as pub, BatchPipeline(
        settings, pub, "loki", fmt="loki", auto_fix=auto_fix, cursor_saver=CursorStore(pub)
    ) as pipeline:
        resumes = await recover(settings, {target.cursor_key: cursors.get(target.cursor_key)}, loki.line_digests)
        resume = resumes.get(target.cursor_key)
        poller = LokiPoller(pipeline, client, target, cursor=resume.cursor if resume else None,
                            page_limit=settings.loki_page_limit, lookback_seconds=settings.loki_lookback_seconds)
        if resume is not None:
            poller.dedupe.skip = resume.skip
        every = interval or settings.loki_poll_interval
        if live:
            await run_live(poller, auth_headers(settings, target.org_id), every)
        else:
            await poller.run(every)


async def watch_files(settings: Settings, paths: Sequence[str], *, interval: float = 0.25, from_start: bool = True,
                      auto_fix: bool = False, fmt: Format = "auto") -> None:
    await ensure_topics(settings, SOURCE_TOPICS)
    cursors = await load_cursors(settings, "file:")
    async with Publisher(settings) as pub, BatchPipeline(
        settings, pub, "file", fmt=fmt, auto_fix=auto_fix, cursor_saver=CursorStore(pub)
    ) as pipeline:
        await follow_files(pipeline, paths, interval=interval, from_start=from_start, cursors=cursors)


async def watch_stdin(settings: Settings, *, stream: BinaryIO | None = None, name: str = "stdin",
                      auto_fix: bool = False, fmt: Format = "auto") -> int:
    await ensure_topics(settings, SOURCE_TOPICS)
    async with Publisher(settings) as pub, BatchPipeline(settings, pub, "stdin", fmt=fmt, auto_fix=auto_fix) as pipeline:
        return await read_stdin(pipeline, stream or sys.stdin.buffer, name=name)
