"""Applied raw batches are finished (marker written, record acknowledged) strictly in order, only once
their sends are acknowledged, and the next batch of a stream continues from the newest state."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streamfix.kafka.publish import MemoryPublisher
from streamfix.kafka.wire import ErrorEventRecord
from streamfix.services.ingest import apply_batch, write_marker
from streamfix.services.inorder import NOTHING, InOrder, Outcome
from tests.unit.services.test_pipeline_services import Worker, batch, calm, traceback


class Log:
    """``finish`` for the tests: writes the marker into a dict table and records the acknowledgement."""

    def __init__(self) -> None:
        self.table: dict[str, Any] = {}
        self.acked: list[str] = []

    async def finish(self, record: str, outcome: Outcome) -> None:
        write_marker(self.table, outcome)
        self.acked.append(record)


def pending(loop: asyncio.AbstractEventLoop, n: int = 1) -> list[asyncio.Future[Any]]:
    return [loop.create_future() for _ in range(n)]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_entries_finish_in_submit_order_even_when_later_sends_are_acknowledged_first() -> None:
    loop, log = asyncio.get_running_loop(), Log()
    order: InOrder[str] = InOrder(log.finish, limit=8)
    sends = {name: pending(loop) for name in "abc"}
    for name in "abc":
        await order.submit(name, Outcome(sends[name], "s", {"offset": ord(name)}), order.generation)
    sends["c"][0].set_result(None)
    sends["b"][0].set_result(None)
    await settle()
    assert log.acked == [] and log.table == {}  # "a" is still waiting: nothing after it may finish
    sends["a"][0].set_result(None)
    await order.drain()
    assert log.acked == ["a", "b", "c"]
    assert log.table == {"s": {"offset": ord("c")}}
    await order.close()


async def test_a_marker_is_written_only_after_every_send_of_its_batch_is_acknowledged() -> None:
    loop, log = asyncio.get_running_loop(), Log()
    order: InOrder[str] = InOrder(log.finish, limit=8)
    first, second = pending(loop, 2)
    await order.submit("a", Outcome([first, second], "s", {"offset": 1}), order.generation)
    first.set_result(None)
    await settle()
    assert log.table == {} and order.latest(log.table)["s"] == {"offset": 1}
    second.set_result(None)
    await order.drain()
    assert log.table == {"s": {"offset": 1}} and log.acked == ["a"]
    await order.close()


async def test_submit_waits_while_limit_entries_wait() -> None:
    loop, log = asyncio.get_running_loop(), Log()
    order: InOrder[str] = InOrder(log.finish, limit=2)
    heads = [pending(loop) for _ in range(3)]
    await order.submit("a", Outcome(heads[0]), order.generation)
    await settle()  # "a" is taken by the settling task, which waits on its send
    await order.submit("b", Outcome(heads[1]), order.generation)
    await order.submit("c", Outcome(heads[2]), order.generation)
    blocked = asyncio.ensure_future(order.submit("d", NOTHING, order.generation))
    await settle()
    assert not blocked.done()
    heads[0][0].set_result(None)
    await settle()
    assert blocked.done() and log.acked == ["a"]
    for fut in (heads[1][0], heads[2][0]):
        fut.set_result(None)
    await order.drain()
    assert log.acked == ["a", "b", "c", "d"]
    await order.close()


async def test_a_revocation_drops_unfinished_entries_and_the_in_memory_state() -> None:
    loop, log = asyncio.get_running_loop(), Log()
    log.table["s"] = {"offset": 0}
    order: InOrder[str] = InOrder(log.finish, limit=8)
    before = order.generation
    sends = [pending(loop) for _ in range(3)]
    for i, fut in enumerate(sends):
        await order.submit(f"r{i}", Outcome(fut, "s", {"offset": i + 1}), before)
    assert order.latest(log.table)["s"] == {"offset": 3}
    order.reset()
    assert order.latest(log.table)["s"] == {"offset": 0}  # the table's state: the new owner's start
    for fut in sends:
        fut[0].set_result(None)
    await order.submit("late", Outcome([], "s", {"offset": 9}), before)  # applied before the revocation
    await order.drain()
    assert log.acked == [] and log.table == {"s": {"offset": 0}}
    await order.submit("next", Outcome([], "s", {"offset": 4}), order.generation)
    await order.drain()
    assert log.acked == ["next"]
    await order.close()


async def test_a_send_the_broker_refuses_is_reported_and_the_batch_still_finishes() -> None:
    loop, log = asyncio.get_running_loop(), Log()
    order: InOrder[str] = InOrder(log.finish, limit=8)
    failures: list[str] = []

    async def on_failure(exc: BaseException) -> None:
        failures.append(str(exc))

    [fut] = pending(loop)
    await order.submit("a", Outcome([fut], "s", {"offset": 1}, on_failure), order.generation)
    fut.set_exception(RuntimeError("broker said no"))
    await order.drain()
    assert failures == ["broker said no"] and log.acked == ["a"]
    await order.close()


def test_the_limit_is_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        InOrder(Log().finish, limit=0)


async def test_pipelined_ingest_publishes_and_records_exactly_what_one_at_a_time_does() -> None:
    """A traceback split over batches, several streams, a redelivered batch: the same error records and
    the same final markers whether batches wait for their acknowledgements or not."""
    values = []
    for stream in ("svc:api:0", "svc:web:1"):
        values += [
            batch([*calm(0), *traceback(2)[:2]], 0, stream),
            batch([*traceback(2)[2:], *calm(6)], 1, stream),
            batch([*traceback(8, "b"), *calm(12)], 2, stream),
        ]
    values.append(values[1])  # a batch delivered again
    sequential = Worker()
    for offset, value in enumerate(values):
        await sequential.ingest(value, offset)

    pipelined, log = Worker(), Log()
    order: InOrder[int] = InOrder(log.finish, limit=3)
    for offset, value in enumerate(values):
        outcome = await apply_batch(value, b"k", 0, offset, assembly=order.latest(log.table),
                                    config=pipelined.ingest_config, out=pipelined.out,
                                    dead_letter=pipelined.dead_letter, clock=lambda: 1_764_324_001.0)
        await order.submit(offset, outcome, order.generation)
    await order.drain()
    await order.close()

    def records(out: MemoryPublisher) -> list[tuple[Any, ...]]:
        return [(r.fingerprint, r.source_offset, r.occurrences, r.error_type)
                for r in out.records("errors", ErrorEventRecord)]

    assert records(pipelined.out) == records(sequential.out) and len(records(sequential.out)) == 4
    assert log.table == sequential.assembly
    assert log.acked == list(range(len(values)))
