"""Entry points that wire a source to Kafka: topics, cursors, publisher, pipeline, watcher.

The CLI (``streamfix watch ...``) and the integration tests call these; each runs until cancelled
(or, for stdin, until EOF) and on the way out flushes its last batch and writes its cursors.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
from collections.abc import Sequence
from typing import BinaryIO

from streamfix.core.cursor import Deduper
from streamfix.errors import SourceError
from streamfix.kafka import topics
from streamfix.kafka.clients import Publisher, ensure_topics
from streamfix.runtime.settings import Settings
from streamfix.runtime.shiplogs import auth_headers
from streamfix.sources import loki, railway
from streamfix.sources.base import BatchPipeline, Format
from streamfix.sources.cursors import CursorStore, load_cursors, recover
from streamfix.sources.files import follow_files, read_stdin
from streamfix.sources.loki import LokiPoller, LokiTarget, make_client
from streamfix.sources.loki_tail import run_live
from streamfix.sources.railway import RailwayWatcher

log = logging.getLogger(__name__)
SOURCE_TOPICS = (topics.RAW, topics.SOURCE_CURSORS)


def check_railway_cli(settings: Settings) -> None:
    """Fail early, with one clear line, when the Railway CLI is not installed."""
    if shutil.which(settings.railway_bin) is None:
        raise SourceError(
            f"railway CLI not found: {settings.railway_bin!r} is not on PATH "
            "(install @railway/cli or set STREAMFIX_RAILWAY_BIN)"
        )


async def watch_railway(settings: Settings, *, services: Sequence[str] = (), environment: str | None = None,
                        interval: float | None = None, auto_fix: bool = False) -> None:
    """Watch every service (or the linked one when ``services`` is empty) until cancelled."""
    check_railway_cli(settings)
    await ensure_topics(settings, SOURCE_TOPICS)
    cursors = await load_cursors(settings, "railway:")
    async with Publisher(settings) as pub, BatchPipeline(
        settings, pub, "railway", fmt="railway", auto_fix=auto_fix, cursor_saver=CursorStore(pub)
    ) as pipeline:
        names: list[str | None] = list(services) or [None]
        watchers = [
            RailwayWatcher(pipeline, railway_bin=settings.railway_bin, service=service, environment=environment,
                           interval=interval)
            for service in names
        ]
        resumes = await recover(settings, {w.key: cursors.get(w.key) for w in watchers}, railway.line_digests)
        for watcher in watchers:
            if (resume := resumes.get(watcher.key)) is not None:
                watcher.dedupe = Deduper(resume.cursor, resume.skip)
                log.info("resuming", extra={"key": watcher.key, "since": resume.cursor.ts_text})
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
