"""Loki poller against the fake Loki server and the real broker: every entry exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter

import pytest
from pydantic import SecretStr

from streamfix.kafka.clients import Publisher, ensure_topics
from streamfix.runtime.settings import Settings
from streamfix.sources.loki import LokiTarget, scan
from streamfix.sources.runner import watch_loki
from tests.fakes import read_raw
from tests.fakes.loki_server import FakeLoki

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]

PAGE = 1000
RUN = 7  # entries sharing one timestamp; 1000 % 7 != 0, so every page ends inside a run
STREAMS = ({"app": "api", "pod": "a"}, {"app": "api", "pod": "b"}, {"app": "api", "pod": "c"})


def entries(count: int, start_ns: int, first: int = 0) -> list[tuple[dict[str, str], int, str]]:
    return [
        (STREAMS[i % len(STREAMS)], start_ns + (i // RUN) * 1_000_000, f"line {i} level=error msg=boom")
        for i in range(first, first + count)
    ]


async def wait_on_topic(settings: Settings, lines: int, task: asyncio.Task[None]) -> None:
    """Until the raw topic holds ``lines`` lines (the watcher's failure ends the wait too)."""
    reader = asyncio.ensure_future(read_raw(settings, until_lines=lines, deadline_s=60))
    await asyncio.wait({reader, task}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        reader.cancel()
        task.result()
    await reader


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def full_page_boundaries_inside_runs(requests: list[dict[str, str]],
                                     data: list[tuple[dict[str, str], int, str]]) -> int:
    """How many requests started at a timestamp shared by several entries (a page ended inside a run)."""
    starts = [int(r["start"]) for r in requests]
    stamps = Counter(ts for _, ts, _ in data)
    return sum(1 for a, b in itertools.pairwise(starts) if b > a and stamps[b] > 1)


async def test_pages_split_inside_equal_timestamp_runs_and_restart_exactly_once(
    kafka_settings: Settings,
) -> None:
    settings = kafka_settings.model_copy(
        update={"loki_page_limit": PAGE, "loki_poll_interval": 0.1, "loki_lookback_seconds": 600.0}
    )
    t0 = time.time_ns() - 120 * 1_000_000_000
    first_batch = entries(4600, t0)
    await ensure_topics(settings)
    async with FakeLoki(token="s3cret-token", org_id="tenant-1") as loki:
        loki.add_many(first_batch)
        settings = settings.model_copy(update={"loki_token": SecretStr("s3cret-token")})
        target = LokiTarget(loki.url, '{app="api"}', "tenant-1")

        task = asyncio.create_task(watch_loki(settings, target))
        await wait_on_topic(settings, len(first_batch), task)
        await stop(task)
        first_requests = list(loki.requests)
        assert [int(r["limit"]) for r in first_requests][:5] == [PAGE] * 5
        assert all(r["direction"] == "forward" for r in first_requests)
        # The first poll reads 5 pages; each of the 4 page boundaries falls inside a run of equal timestamps.
        assert full_page_boundaries_inside_runs(first_requests[:5], first_batch) == 4

        # More entries arrive, some sharing the last timestamp the first watcher saw.
        last_ts = first_batch[-1][1]
        more = [(STREAMS[0], last_ts, "late twin at the cursor timestamp"), *entries(700, t0, first=4606)]
        loki.add_many(more)
        task = asyncio.create_task(watch_loki(settings, target))  # resumes from the cursor on Kafka
        await wait_on_topic(settings, len(first_batch) + len(more), task)
        await stop(task)

    batches = await read_raw(settings)
    got = Counter(
        (ts, line) for b in batches for ts, line in zip(b.timestamps_ns or [], b.lines, strict=True)
    )
    want = Counter((ts, line) for _, ts, line in [*first_batch, *more])
    assert sum(got.values()) == len(first_batch) + len(more)
    assert got == want
    assert {b.stream for b in batches} == {'loki/{app="api",pod="a"}', 'loki/{app="api",pod="b"}',
                                           'loki/{app="api",pod="c"}'}


async def test_scan_backfills_the_last_hours_once(kafka_settings: Settings) -> None:
    settings = kafka_settings.model_copy(update={"loki_page_limit": PAGE, "loki_query": '{app="api"}'})
    now = time.time_ns()
    inside = entries(2500, now - 3_000 * 1_000_000_000)
    pages: list[int] = []
    async with FakeLoki() as loki:
        loki.add_many(entries(50, now - 3 * 3600 * 1_000_000_000))  # older than the scanned hour
        loki.add_many(inside)
        settings = settings.model_copy(update={"loki_url": loki.url})
        await ensure_topics(settings)
        async with Publisher(settings) as pub:
            result = await scan(settings, 1.0, True, pub, on_page=lambda n, _ts: pages.append(n), now_ns=now)
    assert result.lines == len(inside)
    assert result.pages == len(pages) >= 3
    batches = await read_raw(settings)
    assert sum(len(b.lines) for b in batches) == len(inside)
    assert all(b.auto_fix for b in batches)
