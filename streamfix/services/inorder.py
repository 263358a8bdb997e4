"""Apply records one after another without waiting on the broker per record; finish them in order.

The ingest agent used to wait, for every raw batch, until the broker had acknowledged the batch's error
records before it wrote the stream's idempotence marker and took the next batch: a fixed wait per batch
that kept the pipeline well under its CPU limit at the default 1,000-line batches
(``docs/benchmarks.md``). :class:`InOrder` lifts that wait off the agent:

- the agent applies a record (the next batch of a stream continues from :meth:`InOrder.latest`, the
  in-memory state before the table) and :meth:`InOrder.submit` queues what is left to do with the sends'
  futures;
- a settling task takes the queue in order: it waits for an entry's sends, then ``finish`` writes the
  marker and acknowledges the record to the consumer (so its offset may be committed). A marker is
  therefore never on the broker before the records it stands for, and an offset is never committed
  before its marker, exactly as before;
- at most ``limit`` entries wait; :meth:`InOrder.submit` blocks beyond that (back-pressure).

A crash loses only what was not finished: those records are read again from the committed offset and
their repeated error records are dropped downstream, as after any crash. When partitions are revoked,
:meth:`InOrder.reset` drops every waiting entry (no marker, no acknowledgement: the new owner, or this
worker after the reassignment, reads them again) and forgets the in-memory state, so a stream never
continues from a state another worker has moved past.
"""

from __future__ import annotations

import asyncio
import logging
from collections import ChainMap
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

E = TypeVar("E")


@dataclass(slots=True)
class Outcome:
    """What applying one record left to finish: its sends, and the marker to write once they are acked."""

    sends: list[asyncio.Future[Any]] = field(default_factory=list)
    stream: str | None = None
    marker: dict[str, Any] | None = None
    on_failure: Callable[[BaseException], Awaitable[None]] | None = None


NOTHING = Outcome()
"""A record with nothing to wait for (a duplicate, a dead-lettered batch, a rerouted one)."""


@dataclass(slots=True)
class _Entry(Generic[E]):
    record: E
    outcome: Outcome
    generation: int


class InOrder(Generic[E]):
    """Finishes applied records strictly in the order they were submitted (see the module text).

    ``finish(record, outcome)`` writes the outcome's marker (when it has one) and acknowledges the
    record; it runs in the settling task, one entry at a time.
    """

    def __init__(self, finish: Callable[[E, Outcome], Awaitable[None]], limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._finish = finish
        self._queue: asyncio.Queue[_Entry[E]] = asyncio.Queue(maxsize=limit)
        self._pending: dict[str, Any] = {}  # stream -> newest unfinished marker
        self._generation = 0
        self._task: asyncio.Task[None] | None = None

    def latest(self, table: MutableMapping[str, Any]) -> ChainMap[str, Any]:
        """The newest state of each stream: an applied but unfinished marker, else the table's value."""
        return ChainMap(self._pending, table)

    @property
    def generation(self) -> int:
        return self._generation

    async def submit(self, record: E, outcome: Outcome, generation: int) -> None:
        """Queue ``record`` (applied during ``generation``); waits while ``limit`` entries wait."""
        if generation != self._generation:
            return  # applied across a revocation: it will be read again
        if outcome.stream is not None and outcome.marker is not None:
            self._pending[outcome.stream] = outcome.marker
        self._ensure_task()
        await self._queue.put(_Entry(record, outcome, generation))

    def reset(self, *_args: Any, **_kwargs: Any) -> None:
        """Partitions were revoked: drop every unfinished entry and the in-memory state."""
        self._generation += 1
        self._pending.clear()
        dropped = 0
        while not self._queue.empty():
            self._queue.get_nowait()
            self._queue.task_done()
            dropped += 1
        if dropped:
            log.info("partitions revoked: %d applied records left unfinished, to be read again", dropped)

    async def drain(self) -> None:
        """Wait until every submitted entry is finished (tests, and a stop that wants a clean state)."""
        if self._task is not None:
            await self._queue.join()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _ensure_task(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._settle(), name="streamfix.inorder")

    async def _settle(self) -> None:
        while True:
            entry = await self._queue.get()
            try:
                await self._one(entry)
            except asyncio.CancelledError:
                raise
            except Exception:  # one entry must never stop the settling of the others
                log.exception("an applied record could not be finished")
            finally:
                self._queue.task_done()

    async def _one(self, entry: _Entry[E]) -> None:
        outcome = entry.outcome
        if outcome.sends:
            failed = _first_failure(await asyncio.gather(*outcome.sends, return_exceptions=True))
            if failed is not None and outcome.on_failure is not None:
                await outcome.on_failure(failed)
        if entry.generation != self._generation:
            return  # revoked while its sends were in flight
        await self._finish(entry.record, outcome)
        if outcome.stream is not None and self._pending.get(outcome.stream) is outcome.marker:
            del self._pending[outcome.stream]  # the table holds the newest state again


def _first_failure(results: Iterable[Any]) -> BaseException | None:
    for result in results:
        if isinstance(result, BaseException):
            return result
    return None
