"""Fault tolerance on the real broker: (b) SIGKILL a worker mid-stream, (c) restart the broker
mid-stream, (d) hostile input. Counts must equal a clean in-process run exactly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from streamfix.kafka.clients import ensure_topics
from streamfix.kafka.wire import DeadLetter, RawBatch
from streamfix.runtime.settings import Settings

from .helpers import (
    expected_counts,
    pattern_counts,
    publish_streams,
    read_topic,
    running_worker,
    synth_streams,
    wait_counts,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@pytest.fixture
def kafka_settings(kafka_settings: Settings) -> Settings:
    """Counts are compared with an in-process run, so no pause in a test (a broker or worker restart)
    may count as a quiet period that flushes a traceback early. A stalled partition is read again after 20 s
    (instead of 60 s), so a stall costs the test little time; it shows in the worker log as "stalled"."""
    return kafka_settings.model_copy(update={"assembly_quiet_seconds": 300.0, "stall_seconds": 20.0})


async def wait_group_empty(settings: Settings, timeout_s: float) -> None:
    """Until the broker reports no members in the worker's consumer group."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            (response,) = await admin.describe_consumer_groups([settings.app_id])
            if not response.groups[0][5]:  # members
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"group {settings.app_id} still has members after {timeout_s:.0f} s")
    finally:
        await admin.close()


def dump_tasks(proc: subprocess.Popen[bytes], log_path: Path) -> None:
    """Ask a worker that did not finish for the stacks of its threads and asyncio tasks (SIGUSR1, handled by
    the worker's runtime), and wait until the dump in its log stops growing."""
    proc.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 10
    size, steady_since = log_path.stat().st_size, time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now_size = log_path.stat().st_size
        if now_size != size:
            size, steady_since = now_size, time.monotonic()
        elif now_size and time.monotonic() - steady_since > 1.0:
            return


def log_excerpt(log_path: Path) -> str:
    """The worker's lines about stalls and recovery, then the end of its log (where a task dump goes)."""
    text = log_path.read_text(errors="replace")
    notable = [
        line for line in text.splitlines() if "stalled" in line or "Recovery" in line or "committed" in line
    ]
    return "\n".join(notable[-40:]) + "\n--- log tail ---\n" + text[-6000:]


def wait_progress(settings: Settings, at_least: int, timeout: float = 120.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            total = sum(pattern_counts(settings).values())
        except Exception:  # the worker may still be starting
            total = 0
        if total >= at_least:
            return total
        time.sleep(0.05)
    raise TimeoutError(f"never reached {at_least} counted events")


def lines_ingested(settings: Settings) -> int:
    """The worker's own count of raw lines applied (its /metrics): current to the batch, unlike the API's
    pattern counts, which come through a changelog view up to 100 ms behind."""
    text = httpx.get(f"http://127.0.0.1:{settings.web_port}/metrics", timeout=5).text
    return int(sum(sample.value for family in text_string_to_metric_families(text)
                   for sample in family.samples if sample.name == "streamfix_lines_ingested_total"))


def wait_lines(settings: Settings, at_least: int, timeout: float = 120.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done = lines_ingested(settings)
        except httpx.HTTPError:  # the worker may still be starting
            done = 0
        if done >= at_least:
            return done
        time.sleep(0.02)
    raise TimeoutError(f"never reached {at_least} ingested lines")


def test_sigkill_mid_stream_then_restart_counts_exactly(kafka_settings: Settings, tmp_path: Path) -> None:
    streams = synth_streams(200_000, seed=23, streams=8)
    expected = expected_counts(streams, batch_size=250)
    lines = sum(len(stream) for stream in streams.values())
    asyncio.run(publish_streams(kafka_settings, streams, batch_size=250))
    with running_worker(kafka_settings, tmp_path / "first.log") as first:
        seen = wait_lines(kafka_settings, lines // 5)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    assert seen < lines, "the worker finished before it could be killed; the test proves nothing"
    # Restart once the killed member has left the group (its session expired).
    asyncio.run(wait_group_empty(kafka_settings, timeout_s=kafka_settings.broker_session_timeout * 3))
    with running_worker(kafka_settings, tmp_path / "second.log") as second:
        counts = wait_counts(kafka_settings, expected, timeout=180)
        time.sleep(1.0)  # let any duplicate that slipped through show up before the final read
        counts = pattern_counts(kafka_settings)
        if counts != expected:
            dump_tasks(second, tmp_path / "second.log")
    assert counts == expected, log_excerpt(tmp_path / "second.log")


def test_broker_restart_mid_stream_recovers_by_itself(kafka_settings: Settings, tmp_path: Path) -> None:
    if os.environ.get("STREAMFIX_TEST_BROKER"):
        pytest.skip("restarts the project's own local broker; an external broker is configured")
    from streamfix.kafka.local import LocalKafka

    port = int(kafka_settings.bootstrap_servers.rsplit(":", 1)[1])
    broker = LocalKafka(
        Settings(kafka_port=port, kafka_home=Path(__file__).resolve().parents[2] / ".cache" / "kafka")
    )
    streams = synth_streams(100_000, seed=31, streams=8)
    expected = expected_counts(streams, batch_size=250)
    half = 100
    with running_worker(kafka_settings, tmp_path / "worker.log"):
        asyncio.run(publish_streams(kafka_settings, streams, batch_size=250, stop=half // 2))
        wait_progress(kafka_settings, 1)
        assert broker.down()
        broker.up()
        asyncio.run(publish_streams(kafka_settings, streams, batch_size=250, start=half // 2))
        counts = wait_counts(kafka_settings, expected, timeout=240)
        time.sleep(1.0)
        counts = pattern_counts(kafka_settings)
    assert counts == expected, (tmp_path / "worker.log").read_text()[-3000:]


def hostile_records() -> list[tuple[str, bytes]]:
    """1,000 records that are not valid raw batches (or carry a line too long to keep), with the reason expected."""  # noqa: E501
    out: list[tuple[str, bytes]] = []
    for i in range(1000):
        kind = i % 8
        if kind == 0:
            out.append(("invalid_utf8", b'{"batch_id": "\xff\xfe' + str(i).encode() + b'"}'))
        elif kind == 1:
            out.append(("invalid_json", b"[" * 100_000 + b"]" * 100_000))  # deeply nested JSON
        elif kind == 2:
            out.append(
                ("invalid_json", b'{"lines": ["a\x00b"], "n": ' + str(i).encode() + b"}")
            )  # raw NUL byte
        elif kind == 3:
            out.append(("invalid_json", f"\x1b[31mERROR\x1b[0m plain text {i}".encode()))  # ANSI, not a batch
        elif kind == 4:
            out.append(("schema_mismatch", orjson.dumps({"batch_id": f"x{i}", "lines": "not a list"})))
        elif kind == 5:
            out.append(("unsupported_schema_version", orjson.dumps({"schema_version": 99, "lines": []})))
        elif kind == 6:
            out.append(("invalid_json", b""))
        elif i < 48:  # a handful of 5 MB lines inside otherwise valid batches
            big = RawBatch(batch_id=f"big{i}", source="test", stream=f"hostile:{i}", lines=["E" * 5_000_000],
                           sent_at=time.time())
            out.append(("line_too_long", big.dumps()))
        else:
            out.append(("invalid_utf8", b"\x1b]0;title\x07" + bytes(range(256))))  # escapes + binary
    return out


def test_hostile_records_go_to_dead_letters_and_good_ones_are_processed(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    streams = synth_streams(20_000, seed=5, streams=4)
    expected = expected_counts(streams)
    hostile = hostile_records()
    assert len(hostile) == 1000

    async def produce_hostile() -> None:
        await ensure_topics(kafka_settings)
        producer = AIOKafkaProducer(bootstrap_servers=kafka_settings.bootstrap_servers,
                                    max_request_size=16 * 1024 * 1024, acks="all")
        await producer.start()
        try:
            for n, (_, value) in enumerate(hostile):
                await producer.send(
                    f"{kafka_settings.topic_prefix}.logs.raw", value=value, key=f"h{n % 7}".encode()
                )
            await producer.flush()
        finally:
            await producer.stop()

    with running_worker(kafka_settings, tmp_path / "worker.log"):
        asyncio.run(publish_streams(kafka_settings, streams, batch_size=500, stop=10))
        asyncio.run(produce_hostile())
        asyncio.run(publish_streams(kafka_settings, streams, batch_size=500, start=10))
        counts = wait_counts(kafka_settings, expected, timeout=180)
        letters = asyncio.run(read_topic(kafka_settings, f"{kafka_settings.topic_prefix}.dead-letters", 1000,
                                         wait_s=120))
    assert counts == expected, (tmp_path / "worker.log").read_text()[-3000:]
    assert len(letters) == 1000
    decoded = [DeadLetter.loads(r.value) for r in letters]
    got = sorted((d.reason, d.original_value() if d.reason != "line_too_long" else b"") for d in decoded)
    want = sorted((reason, value if reason != "line_too_long" else b"") for reason, value in hostile)
    assert got == want
    assert all(d.detail for d in decoded)
    assert all(d.original_value() == b"E" * 5_000_000 for d in decoded if d.reason == "line_too_long")
