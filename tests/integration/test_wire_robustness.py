"""Input that other producers send: redelivered batches with every codec, on the right or a wrong
partition."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streamfix.kafka.clients import ensure_topics, stream_partition
from streamfix.kafka.wire import DeadLetter, ErrorEventRecord, FixRequest, FixResult, RawBatch
from streamfix.runtime.settings import Settings
from streamfix.tools.replay import batches
from tests.integration.helpers import (
    expected_counts,
    pattern_counts,
    read_topic,
    running_worker,
    synth_streams,
    wait_counts,
)
from tests.wire_cases import Violation, violations

pytestmark = pytest.mark.kafka
CODECS = ("gzip", "snappy", "lz4", "zstd")


def metric(settings: Settings, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{settings.web_port}/metrics", timeout=5.0).text
    found = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def wait_metric(settings: Settings, name: str, value: float, timeout: float = 120.0) -> float:
    deadline = time.monotonic() + timeout
    seen = -1.0
    while time.monotonic() < deadline:
        try:
            seen = metric(settings, name)
        except httpx.HTTPError:
            seen = -1.0
        if seen >= value:
            return seen
        time.sleep(0.2)
    return seen


async def send_three_times(settings: Settings, streams: dict[str, list[str]], batch_size: int) -> int:
    """Every batch 3 times, by non-idempotent producers: its own partition, again there with another codec,
    and a third time on another partition (a producer with another partitioner). Returns the batch count."""
    await ensure_topics(settings)
    raw = f"{settings.topic_prefix}.logs.raw"
    producers = [
        AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            enable_idempotence=False,
            compression_type=codec,
            acks="all",
            max_request_size=16 << 20,
        )
        for codec in CODECS
    ]
    for producer in producers:
        await producer.start()
    sent = 0
    try:
        for key, lines in streams.items():
            home = stream_partition(key, settings.topic_partitions)
            for n, batch in enumerate(
                batches(
                    lines,
                    stream=key,
                    source="test",
                    labels={"service": "svc"},
                    size=batch_size,
                    fmt="railway",
                    run_id="r",
                )
            ):
                value = batch.dumps()
                first, second, third = (producers[(n + i) % len(producers)] for i in range(3))
                await first.send_and_wait(raw, value=value, key=key.encode(), partition=home)
                await second.send_and_wait(raw, value=value, key=key.encode(), partition=home)
                await third.send_and_wait(
                    raw, value=value, key=key.encode(), partition=(home + 1) % settings.topic_partitions
                )
                sent += 1
    finally:
        for producer in producers:
            await producer.stop()
    return sent


def test_a_batch_sent_three_times_with_any_codec_on_any_partition_counts_once(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    streams = synth_streams(20_000, seed=41, streams=4, error_rate=0.03)
    expected = expected_counts(streams, batch_size=200)
    sent = asyncio.run(send_three_times(kafka_settings, streams, batch_size=200))
    with running_worker(kafka_settings, tmp_path / "worker.log"):
        counts = wait_counts(kafka_settings, expected, timeout=180)
        rerouted = wait_metric(kafka_settings, "streamfix_batches_rerouted_total", sent)
        duplicates = wait_metric(kafka_settings, "streamfix_batches_duplicate_total", 2 * sent)
        counts = pattern_counts(kafka_settings)
    assert (rerouted, duplicates) == (sent, 2 * sent)
    assert counts == expected


def traceback_entries(now_ns: int, count: int) -> list[tuple[dict[str, str], int, str]]:
    """``count`` tracebacks of three kinds spread over two pods, between 50 and 10 minutes ago."""
    kinds = [
        ("KeyError", "'user_id'"),
        ("ZeroDivisionError", "division by zero"),
        ("ValueError", "invalid literal for int() with base 10: 'x'"),
    ]
    out = []
    ts = now_ns - 50 * 60 * 1_000_000_000
    step = (40 * 60 * 1_000_000_000) // (count * 5)
    for n in range(count):
        error, message = kinds[n % len(kinds)]
        pod = {"app": "api", "pod": "ab"[n % 2]}
        for line in (
            "Traceback (most recent call last):",
            f'  File "/app/handlers/h{n % 3}.py", line {10 + n % 3}, in handle',
            "    return compute(payload)",
            f"{error}: {message}",
            f"request {n} done",
        ):
            out.append((pod, ts, line))
            ts += step
    return out


async def scan_twice(settings: Settings, now_ns: int) -> tuple[int, int]:
    from streamfix.kafka.clients import Publisher
    from streamfix.sources.loki import scan
    from tests.fakes.loki_server import FakeLoki

    async with FakeLoki() as loki:
        loki.add_many(traceback_entries(now_ns, 300))
        settings = settings.model_copy(
            update={"loki_url": loki.url, "loki_query": '{app="api"}', "loki_page_limit": 400}
        )
        await ensure_topics(settings)
        async with Publisher(settings) as pub:
            first = await scan(settings, 1.0, False, pub, now_ns=now_ns)
            # the same hour again, five and a half minutes later: another range, the same minutes inside it
            second = await scan(settings, 1.0, False, pub, now_ns=now_ns + 330 * 1_000_000_000)
    return first.batches, second.batches


def test_a_repeated_scan_over_the_same_hour_counts_once(kafka_settings: Settings, tmp_path: Path) -> None:
    now = time.time_ns()
    first_batches, second_batches = asyncio.run(scan_twice(kafka_settings, now))
    with running_worker(kafka_settings, tmp_path / "worker.log"):
        duplicates = wait_metric(kafka_settings, "streamfix_batches_duplicate_total", second_batches)
        counts = wait_counts(kafka_settings, {"all": 300}, timeout=120)
    # every batch of the second scan was dropped as a duplicate, so nothing more can arrive
    assert second_batches == first_batches > 10
    assert duplicates == second_batches
    assert sorted(counts.values()) == [100, 100, 100]


async def send_violations(settings: Settings, total: int) -> dict[tuple[str, int, int], Violation]:
    """``total`` records, cycling through every rule of every consumed schema, each on its record's topic."""
    await ensure_topics(settings)
    topics = {
        RawBatch: "logs.raw",
        ErrorEventRecord: "errors",
        FixRequest: "fix-requests",
        FixResult: "fix-results",
    }
    cases = [v for record in topics for v in violations(record)]
    sent: dict[tuple[str, int, int], Violation] = {}
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=5)
    await producer.start()
    try:
        futures = []
        for n in range(total):
            case = cases[n % len(cases)]
            topic = f"{settings.topic_prefix}.{topics[case.record]}"
            value = orjson.dumps(case.value)
            futures.append((case, await producer.send(topic, value=value, key=f"k{n % 7}".encode())))
        for case, fut in futures:
            meta = await fut
            sent[(meta.topic, meta.partition, meta.offset)] = case
    finally:
        await producer.stop()
    assert {c.name for c in sent.values()} == {c.name for c in cases}  # every rule at least once
    return sent


def test_schema_violating_records_all_reach_the_dead_letter_topic_with_the_field_named(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    total = 1000
    sent = asyncio.run(send_violations(kafka_settings, total))
    with running_worker(kafka_settings, tmp_path / "worker.log") as proc:
        pid = proc.pid
        letters = asyncio.run(
            read_topic(kafka_settings, f"{kafka_settings.topic_prefix}.dead-letters", total, wait_s=180)
        )
        assert proc.poll() is None and proc.pid == pid  # nothing stopped the worker
    got = {}
    for message in letters:
        letter = DeadLetter.loads(message.value)
        got[(letter.source_topic, letter.partition, letter.offset)] = letter
    assert set(got) == set(sent), (
        f"{len(set(sent) - set(got))} violating records never reached the dead letters"
    )
    unnamed = [
        (case.name, got[where].detail)
        for where, case in sent.items()
        if f"{case.record.__name__}.{case.field}" not in got[where].detail
    ]
    assert not unnamed
    assert all(got[where].original_value() == orjson.dumps(case.value) for where, case in sent.items())


def histogram(settings: Settings, name: str) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{settings.web_port}/metrics", timeout=5.0).text
    out = {}
    for le, value in re.findall(rf'^{name}_bucket{{le="([^"]+)"}} ([0-9.e+]+)$', text, re.MULTILINE):
        out[le] = float(value)
    return out


async def send_huge_batch(settings: Settings) -> int:
    """One raw batch of 14 lines of about 1 MB each (every line under the 1 MB line limit), as a foreign
    producer without STREAMFIX_BATCH_MAX_BYTES might send it."""
    import random
    import string

    await ensure_topics(settings)
    rng = random.Random(5)
    words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9))) for _ in range(2000)]

    def text(n: int) -> str:
        out: list[str] = []
        size = 0
        while size < n:
            word = rng.choice(words)
            out.append(word)
            size += len(word) + 1
        return " ".join(out)[:n]

    lines = []
    for n in range(14):
        if n % 2:
            lines.append(
                orjson.dumps(
                    {
                        "message": f"ValueError: bad payload {text(1_000_000)}",
                        "level": "error",
                        "timestamp": "2026-01-01T00:00:00Z",
                    }
                ).decode()
            )
        else:
            lines.append(f"ERROR request failed: {text(1_000_000)}")
    batch = RawBatch(batch_id="huge-1", source="test", stream="test:huge", lines=lines, sent_at=time.time())
    value = batch.dumps()
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, max_request_size=16 << 20, compression_type="gzip"
    )
    await producer.start()
    try:
        await producer.send_and_wait(f"{settings.topic_prefix}.logs.raw", value=value, key=b"test:huge")
    finally:
        await producer.stop()
    return len(value)


def test_a_batch_of_14_one_megabyte_lines_never_holds_the_event_loop_200_ms(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    asyncio.run(ensure_topics(kafka_settings))
    with running_worker(kafka_settings, tmp_path / "worker.log"):
        wait_metric(kafka_settings, "streamfix_event_loop_lag_seconds_count", 50)  # running, past its start
        before = histogram(kafka_settings, "streamfix_event_loop_lag_seconds")
        size = asyncio.run(send_huge_batch(kafka_settings))
        assert wait_metric(kafka_settings, "streamfix_batches_ingested_total", 1, timeout=180) >= 1
        samples = wait_metric(
            kafka_settings,
            "streamfix_event_loop_lag_seconds_count",
            metric(kafka_settings, "streamfix_event_loop_lag_seconds_count") + 20,
        )
        after = histogram(kafka_settings, "streamfix_event_loop_lag_seconds")
        events = metric(kafka_settings, "streamfix_batches_duplicate_total")
    assert size > 14_000_000 and samples > 0 and events == 0
    over = (after["+Inf"] - after["0.2"]) - (before["+Inf"] - before["0.2"])
    assert over == 0, f"{over:.0f} samples with the loop held more than 200 ms: {after}"
