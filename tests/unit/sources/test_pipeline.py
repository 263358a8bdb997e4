"""Batching by size and age, and cursors written only after the broker acknowledged the lines."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from streamfix.core.cursor import Cursor
from streamfix.errors import BrokerError
from streamfix.kafka.wire import RawBatch
from streamfix.runtime.settings import Settings
from streamfix.sources.base import BatchPipeline
from streamfix.sources.cursors import MemoryCursorStore
from tests.fakes import MemorySender


class HeldSender(MemorySender):
    """Acknowledges only when the test releases a batch (or fails it)."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[asyncio.Future[object]] = []

    async def send_batch(self, batch: RawBatch) -> asyncio.Future[object]:
        self.batches.append(batch)
        fut: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self.pending.append(fut)
        self.changed.set()
        return fut


async def test_size_flush_groups_by_stream_and_cursor_waits_for_the_ack() -> None:
    sender, store = HeldSender(), MemoryCursorStore()
    async with BatchPipeline(Settings(batch_max_lines=3), sender, "railway", cursor_saver=store) as p:
        assert not p.add("s1", {"service": "a"}, "l1", 1)
        assert not p.add("s2", {"service": "b"}, "l2", 2)
        p.set_cursor("railway:a", Cursor(2, "t2", {"h"}))
        assert p.add("s1", {"service": "a"}, "l3", 3)
        await p.flush()
        assert [(b.stream, b.lines, b.timestamps_ns) for b in sender.batches] == [
            ("s1", ["l1", "l3"], [1, 3]), ("s2", ["l2"], [2])]
        await asyncio.sleep(0)
        assert store.cursors == {}  # not acknowledged yet
        for offset, fut in enumerate(sender.pending):
            fut.set_result(SimpleNamespace(partition=offset % 2, offset=100 + offset))
        await p.acked.wait()
        assert store.cursors["railway:a"].ts_ns == 2
        assert store.cursors["railway:a"].offsets == {0: 100, 1: 101}  # where a recovery would start reading
    assert p.stats.acked_lines == 3


async def test_age_flush_sends_a_lone_line() -> None:
    sender = MemorySender()
    async with BatchPipeline(Settings(batch_max_seconds=0.02), sender, "file") as p:
        p.add("f", {}, "alone")
        await sender.wait_lines(1)
    assert sender.batches[0].timestamps_ns is None


async def test_failed_ack_is_resent_then_reported() -> None:
    sender = HeldSender()
    p = BatchPipeline(Settings(), sender, "stdin")
    await p.__aenter__()
    p.add("s", {}, "x")
    await p.flush()
    for _ in range(3):
        while not sender.pending:
            sender.changed.clear()
            await sender.changed.wait()
        sender.pending.pop().set_exception(RuntimeError("broker said no"))
    with pytest.raises(BrokerError, match="not acknowledged: broker said no"):
        await p.close()
    assert len(sender.batches) == 3  # sent once, resent twice


async def test_batch_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    sender = MemorySender()
    async with BatchPipeline(Settings(), sender, "loki", fmt="loki", auto_fix=True, clock=lambda: 123.0) as p:
        p.add("k", {"app": "x"}, "line", 5)
    batch: Any = sender.batches[0]
    assert (batch.source, batch.format, batch.auto_fix, batch.sent_at, batch.labels) == (
        "loki", "loki", True, 123.0, {"app": "x"})
    assert batch.batch_id.endswith(":0:k")


class GatedSender(MemorySender):
    """``send_batch`` waits for the test, as aiokafka's does when its buffer is full."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def send_batch(self, batch: RawBatch) -> asyncio.Future[object]:
        self.waiting.set()
        await self.gate.wait()
        return await super().send_batch(batch)


async def test_lines_added_while_a_flush_is_sending_go_to_the_next_flush() -> None:
    sender, store = GatedSender(), MemoryCursorStore()
    async with BatchPipeline(Settings(), sender, "railway", cursor_saver=store) as p:
        p.add("s", {}, "first", 1)
        p.set_cursor("k", Cursor(1, "t1"))
        flushing = asyncio.create_task(p.flush())
        await sender.waiting.wait()
        p.add("s", {}, "second", 2)  # arrives while the first flush is waiting on the sender
        p.set_cursor("k", Cursor(2, "t2"))
        sender.gate.set()
        await flushing
        await p.acked.wait()
        assert store.cursors["k"].ts_ns == 1
    assert sender.lines == ["first", "second"]
    assert store.cursors["k"].ts_ns == 2


async def test_a_cancelled_flush_still_sends_its_batches_once() -> None:
    sender = GatedSender()
    async with BatchPipeline(Settings(), sender, "stdin") as p:
        p.add("s", {}, "x")
        flushing = asyncio.create_task(p.flush())
        await sender.waiting.wait()
        flushing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await flushing
        sender.gate.set()
    assert sender.lines == ["x"]
