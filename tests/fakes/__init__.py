"""Fakes of outside services for tests: the ``railway`` CLI executable, a Loki server, a Kafka sender."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from streamfix.kafka.wire import RawBatch

FAKES_DIR = Path(__file__).resolve().parent
RAILWAY_BIN = FAKES_DIR / "railway"


class MemorySender:
    """Stands in for :class:`streamfix.kafka.clients.Publisher`: keeps what was sent, acknowledges at once."""

    def __init__(self) -> None:
        self.batches: list[RawBatch] = []
        self.records: list[tuple[str, str, Any]] = []
        self.changed = asyncio.Event()

    async def send_batch(self, batch: RawBatch) -> asyncio.Future[object]:
        self.batches.append(batch)
        self.changed.set()
        return self._done()

    async def send(self, role: str, key: str, record: Any) -> asyncio.Future[object]:
        self.records.append((role, key, record))
        return self._done()

    @staticmethod
    def _done() -> asyncio.Future[object]:
        fut: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut

    @property
    def lines(self) -> list[str]:
        return [line for batch in self.batches for line in batch.lines]

    def pairs(self) -> list[tuple[int, str]]:
        """(timestamp, line) of every published line, in publish order."""
        out: list[tuple[int, str]] = []
        for batch in self.batches:
            stamps = batch.timestamps_ns or [0] * len(batch.lines)
            out.extend(zip(stamps, batch.lines, strict=True))
        return out

    async def wait_lines(self, count: int) -> None:
        while len(self.lines) < count:
            self.changed.clear()
            await self.changed.wait()


def railway_json_lines(count: int, *, start_ns: int = 1_767_225_600_000_000_000, step_ns: int = 1_000,
                       replicas: int = 2) -> list[str]:
    """``count`` ``railway logs --json`` lines with strictly increasing timestamps."""
    import orjson

    from streamfix.core.cursor import format_ts_ns

    out = []
    for i in range(count):
        obj = {
            "timestamp": format_ts_ns(start_ns + i * step_ns),
            "message": f"GET /items/{i} 200 in {i % 97}ms",
            "level": "info" if i % 50 else "error",
            "deploymentId": "dep-1",
            "deploymentInstanceId": f"rep-{i % replicas}",
            "seq": i,
        }
        out.append(orjson.dumps(obj).decode())
    return out


async def read_raw(
    settings: Any, *, until_lines: int | None = None, deadline_s: float = 60.0
) -> list[RawBatch]:
    """Every RawBatch on the raw topic up to its end offsets (or until ``until_lines`` lines were read)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from streamfix.kafka import topics

    name = topics.RAW.name(settings)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                                group_id=None)
    await consumer.start()
    try:
        tps = [TopicPartition(name, p) for p in range(topics.RAW.partition_count(settings))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: list[RawBatch] = []
        lines = 0

        async def drain() -> None:
            nonlocal lines
            while True:
                done = all([await consumer.position(tp) >= ends[tp] for tp in tps])
                if until_lines is None and done:
                    return
                if until_lines is not None and lines >= until_lines:
                    return
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for rec in records:
                        batch = RawBatch.loads(rec.value)
                        out.append(batch)
                        lines += len(batch.lines)

        await asyncio.wait_for(drain(), deadline_s)
        return out
    finally:
        await consumer.stop()
