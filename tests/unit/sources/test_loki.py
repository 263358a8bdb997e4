"""Loki poller, tail and the fake Loki server's documented behaviour (real local HTTP server)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
from collections import Counter

import httpx
import pytest
from pydantic import SecretStr

from streamfix.errors import SourceError
from streamfix.runtime import metrics
from streamfix.runtime.settings import Settings
from streamfix.sources.base import BatchPipeline
from streamfix.sources.loki import LokiPoller, LokiTarget, LokiUnavailable, make_client, query_range
from streamfix.sources.loki_tail import run_live
from tests.fakes import MemorySender
from tests.fakes.loki_server import FakeLoki

pytestmark = pytest.mark.timeout(30)
T0 = 1_767_225_600_000_000_000
A, B = {"app": "api", "pod": "a"}, {"app": "api", "pod": "b"}


def dropped(reason: str) -> float:
    return metrics.REGISTRY.get_sample_value(
        "streamfix_source_dropped_lines_total", {"source": "loki", "reason": reason}
    ) or 0.0


async def test_fake_query_range_shapes_and_limits() -> None:
    async with FakeLoki() as loki:
        loki.add_many([(A, T0 + i, f"a{i}") for i in range(5)] + [(B, T0 + 2, "b2")])
        async with httpx.AsyncClient(base_url=loki.url) as client:
            too_many = await client.get("/loki/api/v1/query_range", params={"query": "{}", "limit": "5001"})
            assert too_many.status_code == 400
            assert "max entries limit" in too_many.text
            body = (
                await client.get(
                    "/loki/api/v1/query_range",
                    params={
                        "query": '{app="api"}',
                        "start": str(T0 + 1),
                        "end": str(T0 + 4),
                        "direction": "forward",
                    },
                )
            ).json()
            assert body["status"] == "success"
            assert body["data"]["resultType"] == "streams"
            values = {tuple(sorted(s["stream"].items())): s["values"] for s in body["data"]["result"]}
            assert values[tuple(sorted(A.items()))] == [
                [str(T0 + 1), "a1"],
                [str(T0 + 2), "a2"],
                [str(T0 + 3), "a3"],
            ]
            backward = (await client.get("/loki/api/v1/query_range", params={
                "query": '{pod="a"}', "start": str(T0), "end": str(T0 + 9), "limit": "2"})).json()
            assert backward["data"]["result"][0]["values"] == [[str(T0 + 4), "a4"], [str(T0 + 3), "a3"]]


async def test_fake_push_requires_string_timestamps_and_accepts_gzip() -> None:
    async with FakeLoki() as loki, httpx.AsyncClient(base_url=loki.url) as client:
        bad = await client.post("/loki/api/v1/push", json={"streams": [{"stream": A, "values": [[T0, "x"]]}]})
        assert bad.status_code == 400
        body = gzip.compress(json.dumps({"streams": [{"stream": A, "values": [[str(T0), "x"]]}]}).encode())
        ok = await client.post("/loki/api/v1/push", content=body,
                               headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
        assert ok.status_code == 204
        assert loki.entries[0][0] == T0


async def test_query_range_caps_the_limit_and_sends_auth_headers() -> None:
    async with FakeLoki(basic=("user", "pw"), org_id="t1") as loki:
        loki.add(A, T0, "x")
        settings = Settings(loki_username="user", loki_password=SecretStr("pw"))
        async with make_client(settings, LokiTarget(loki.url, "{}", "t1")) as client:
            entries, _ = await query_range(client, "{}", T0, T0 + 1, 9000)
        assert entries == [(T0, 'loki/{app="api",pod="a"}', "x")]
        assert loki.requests[0]["limit"] == "5000"


async def test_bad_credentials_and_outages_are_reported() -> None:
    async with FakeLoki(token="right") as loki:
        target = LokiTarget(loki.url, "{}")
        wrong = Settings(loki_token=SecretStr("wrong"))
        async with make_client(wrong, target) as client:
            with pytest.raises(SourceError, match=r"Loki rejected the credentials \(HTTP 401\)"):
                await query_range(client, "{}", 0, 1, 10)
        url = loki.url
    async with make_client(Settings(), LokiTarget(url, "{}")) as client:
        with pytest.raises(LokiUnavailable, match="cannot reach Loki"):
            await query_range(client, "{}", 0, 1, 10)


async def test_paging_inside_runs_of_equal_timestamps_publishes_each_entry_once() -> None:
    data = [((A, B)[i % 2], T0 + (i // 6) * 10, f"line {i}") for i in range(1000)]
    sender = MemorySender()
    async with FakeLoki() as loki:
        loki.add_many(data)
        async with make_client(Settings(), LokiTarget(loki.url, '{app="api"}')) as client, BatchPipeline(
            Settings(), sender, "loki"
        ) as pipeline:
            poller = LokiPoller(pipeline, client, LokiTarget(loki.url, '{app="api"}'), page_limit=100)
            assert await poller.poll_range(T0, T0 + 10**9) == 1000
            # Entries added later at the cursor's timestamp are still picked up, the others not again.
            loki.add(A, data[-1][1], "late twin")
            assert await poller.poll_once(now_ns=T0 + 10**9) == 1
    assert poller.stats.pages > 10
    assert Counter(sender.pairs()) == Counter(
        [(ts, line) for _, ts, line in data] + [(data[-1][1], "late twin")]
    )


async def test_live_tail_publishes_frames_and_counts_dropped_entries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sender = MemorySender()
    before, late_before = dropped("tail_dropped_entries"), dropped("out_of_order")
    async with FakeLoki() as loki:
        loki.add(A, T0, "from history")
        target = LokiTarget(loki.url, '{app="api"}')
        async with (
            make_client(Settings(), target) as client,
            BatchPipeline(Settings(), sender, "loki") as pipeline,
        ):
            poller = LokiPoller(pipeline, client, target, lookback_seconds=10**10)
            task = asyncio.create_task(run_live(poller, {}, 0.05))
            await sender.wait_lines(1)
            await loki.tail_frames.put(
                {
                    "streams": [
                        {"stream": B, "values": [[str(T0 + 5), "live one"], [str(T0 + 6), "live two"]]}
                    ],
                    "dropped_entries": [
                        {"labels": B, "timestamp": str(T0 + 4)},
                        {"labels": B, "timestamp": str(T0 + 3)},
                    ],
                }
            )
            await loki.tail_frames.put({"streams": [{"stream": A, "values": [[str(T0 + 1), "too late"]]}]})
            await loki.tail_frames.put({"streams": [{"stream": A, "values": [[str(T0 + 7), "in order"]]}]})
            with caplog.at_level(logging.WARNING):
                await sender.wait_lines(4)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert sender.lines == ["from history", "live one", "live two", "in order"]
    assert dropped("tail_dropped_entries") - before == 2
    assert dropped("out_of_order") - late_before == 1
    lost = [r for r in caplog.records if r.name == "streamfix.sources.base"]
    assert [(r.getMessage(), r.reason) for r in lost] == [  # type: ignore[attr-defined]
        ("lines lost upstream", "tail_dropped_entries"), ("lines lost upstream", "out_of_order")]


async def test_live_falls_back_to_polling_when_tail_is_refused() -> None:
    sender = MemorySender()
    async with FakeLoki(tail_enabled=False) as loki:
        target = LokiTarget(loki.url, '{app="api"}')
        async with (
            make_client(Settings(), target) as client,
            BatchPipeline(Settings(), sender, "loki") as pipeline,
        ):
            poller = LokiPoller(pipeline, client, target, lookback_seconds=10**10)
            task = asyncio.create_task(run_live(poller, {}, 0.01))
            loki.add(A, T0, "polled")
            await sender.wait_lines(1)
            loki.add(A, T0 + 1, "polled after the tail was refused")
            await sender.wait_lines(2)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert sender.lines == ["polled", "polled after the tail was refused"]


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        pytest.param(None, ["old"], id="a-backfill-reads-whole-minutes-only"),
        pytest.param(40, ["new"], id="the-monitor-reads-exactly-since-its-last-window"),
    ],
)
async def test_scan_range_whole_minutes_or_exactly_since(since: int | None, expected: list[str]) -> None:
    """A backfill leaves the minute in progress to a later scan (so repeated scans cut the same
    batches); the periodic monitor continues exactly where its previous window ended, so a line logged
    now is published within one interval."""
    from streamfix.sources.loki import scan

    minute = 60 * 1_000_000_000
    now = (T0 // minute + 10) * minute + 35 * 1_000_000_000  # 35 s into a minute
    async with FakeLoki() as loki:
        loki.add_many([(A, now - 90 * 1_000_000_000, "old"), (A, now - 20 * 1_000_000_000, "new")])
        settings = Settings(loki_url=loki.url, loki_query='{app="api"}')
        sender = MemorySender()
        since_ns = None if since is None else now - since * 1_000_000_000
        hours = 0.05 if since is None else 1e-6
        result = await scan(settings, hours, False, sender, now_ns=now, since_ns=since_ns)
    assert [line for b in sender.batches for line in b.lines] == expected
    assert result.end_ns == (now if since is not None else now // minute * minute)
