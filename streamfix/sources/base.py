"""The part every watcher shares: batching lines into :class:`~streamfix.kafka.wire.RawBatch` records,
publishing them with bounded memory, and committing resume cursors only after the broker has
acknowledged every line before them.

A watcher calls :meth:`BatchPipeline.add` per accepted line and :meth:`BatchPipeline.set_cursor`
whenever its resume position moves. A flush (by size, ``batch_max_lines``, or by age,
``batch_max_seconds``) sends one batch per stream and remembers the cursors as they were at that
moment; a background task waits for the acknowledgements and then writes those cursors, together
with the highest raw-topic offset acknowledged per partition. So a cursor on the topic never points
past a line the broker does not have, and after a hard kill the batches published after the cursor
can be found from those offsets (:func:`streamfix.sources.cursors.recover`).

``batch_id`` is ``<run id>:<seq>:<stream>``: unique per watcher run (a random run id), not
deterministic. ``seq`` counts the batches of one stream within one run. A backfill passes
``batch_id=`` to name batches by their content instead (:func:`content_batch_id`), so running it
again over the same range publishes batches the ingest agent recognises as already applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from streamfix.core.cursor import Cursor
from streamfix.core.formats import Format
from streamfix.core.trace import trace_id_for
from streamfix.errors import BrokerError
from streamfix.kafka.wire import RawBatch
from streamfix.runtime import metrics
from streamfix.runtime.logs import trace
from streamfix.runtime.settings import Settings

log = logging.getLogger(__name__)

__all__ = [
    "CURSOR_LABEL",
    "BatchPipeline",
    "BatchSender",
    "CursorSaver",
    "Digests",
    "Format",
    "Source",
    "count_dropped",
]

CURSOR_LABEL = "streamfix_cursor"  # batch label naming the cursor key of the watcher that sent it
SEND_ATTEMPTS = 3


class BatchSender(Protocol):
    """What the pipeline needs from :class:`streamfix.kafka.clients.Publisher`."""

    async def send_batch(self, batch: RawBatch) -> asyncio.Future[object]: ...

    async def send(self, role: str, key: str, record: Any) -> asyncio.Future[object]: ...


class CursorSaver(Protocol):
    async def save(self, key: str, cursor: Cursor) -> None: ...


Digests = Callable[[RawBatch], Iterable[tuple[int, str, str]]]
"""``(ts_ns, "", hash)`` of a published batch's lines, hashed as the source hashes them for its Deduper."""


class Source(Protocol):
    """A log source: Railway, Loki, files or stdin. :func:`streamfix.sources.runner.run_source` drives it.

    The runner publishes through one :class:`BatchPipeline` per run, loads the cursors of
    :meth:`cursor_keys` from the cursor topic and hands each to :meth:`resume` before :meth:`run`.
    A source with ``digests`` also gets the lines it published after its cursor (found on the raw
    topic after a hard kill), so it drops them when they come again.
    """

    kind: str
    """``RawBatch.source`` of its batches and the prefix of its cursor keys (``railway``, ``loki``, ...)."""
    fmt: Format
    """How its lines are parsed."""
    digests: Digests | None

    def default_stream_key(self) -> str:
        """The stream key of a line the source knows nothing more about (see :mod:`streamfix.core.formats`)."""  # noqa: E501
        ...

    def cursor_keys(self) -> list[str]:
        """Keys of the cursors it resumes from (none: it starts afresh on every run)."""
        ...

    def resume(self, key: str, cursor: Cursor | None, skip: set[tuple[int, str]]) -> None:
        """Continue after ``cursor`` (None: never published), dropping the lines in ``skip`` once."""
        ...

    async def run(self, pipeline: BatchPipeline) -> int:
        """Publish lines until :meth:`stop`, cancellation or the end of the input; returns lines read."""
        ...

    def stop(self) -> None:
        """End :meth:`run` (it flushes what it buffered and returns)."""
        ...


@dataclass(slots=True)
class _Buffer:
    labels: dict[str, str]
    lines: list[str] = field(default_factory=list)
    timestamps: list[int] = field(default_factory=list)
    has_ts: bool = True
    size: int = 0  # UTF-8 bytes of the lines


@dataclass(slots=True)
class _InFlight:
    batches: list[tuple[RawBatch, asyncio.Future[object]]]
    cursors: dict[str, Cursor]
    lines: int


@dataclass(slots=True)
class PipelineStats:
    lines: int = 0
    batches: int = 0
    acked_lines: int = 0
    cursor_writes: int = 0


class BatchPipeline:
    """Batches lines per stream and publishes them; use as ``async with``."""

    def __init__(
        self,
        settings: Settings,
        sender: BatchSender,
        source: str,
        *,
        fmt: Format = "auto",
        auto_fix: bool = False,
        cursor_saver: CursorSaver | None = None,
        max_in_flight: int = 64,
        clock: Callable[[], float] = time.time,
        batch_id: Callable[[str, list[str], list[int]], str] | None = None,
    ) -> None:
        self.source = source
        self._batch_id = batch_id
        self._sender = sender
        self._fmt: Format = fmt
        self._auto_fix = auto_fix
        self._saver = cursor_saver
        self._max_lines = settings.batch_max_lines
        self._max_bytes = settings.batch_max_bytes
        self._full: list[
            tuple[str, _Buffer]
        ] = []  # buffers closed at batch_max_bytes, sent at the next flush
        self._max_age = settings.batch_max_seconds
        self._clock = clock
        self._run_id = secrets.token_hex(4)
        self._buffers: dict[str, _Buffer] = {}
        self._buffered = 0
        self._oldest: float | None = None
        self._seq: dict[str, int] = {}
        self._cursors: dict[str, Cursor] = {}
        self._inflight: asyncio.Queue[_InFlight | None] = asyncio.Queue(maxsize=max_in_flight)
        self._acker: asyncio.Task[None] | None = None
        self._sending: asyncio.Future[None] | None = None
        self._timer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._last_ts_ns = 0
        self._offsets: dict[int, int] = {}
        self.stats = PipelineStats()
        self.acked = asyncio.Event()

    async def __aenter__(self) -> BatchPipeline:
        self._acker = asyncio.create_task(self._ack_loop(), name=f"{self.source}-acks")
        self._timer = asyncio.create_task(self._timer_loop(), name=f"{self.source}-flush-timer")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def add(self, stream: str, labels: dict[str, str], line: str, ts_ns: int | None = None) -> bool:
        """Buffer one line; True when the buffer is full and :meth:`flush` should be awaited."""
        size = len(line.encode("utf-8", "surrogatepass"))
        buf = self._buffers.get(stream)
        full = buf is not None and buf.lines and buf.size + size > self._max_bytes
        if full and buf is not None:  # this line would make the batch too big: it starts the next one
            self._full.append((stream, buf))
            buf = None
        if buf is None:
            buf = self._buffers[stream] = _Buffer(dict(labels))
        buf.lines.append(line)
        buf.size += size
        if ts_ns is None:
            buf.has_ts = False
        else:
            buf.timestamps.append(ts_ns)
            self._last_ts_ns = ts_ns
        if self._oldest is None:
            self._oldest = self._clock()
        self._buffered += 1
        return self._buffered >= self._max_lines or bool(full)

    async def add_line(
        self, stream: str, labels: dict[str, str], line: str, ts_ns: int | None = None
    ) -> None:
        if self.add(stream, labels, line, ts_ns):
            await self.flush()

    def set_cursor(self, key: str, cursor: Cursor) -> None:
        """The resume position after every line added so far (copied at the next flush)."""
        self._cursors[key] = cursor

    async def flush(self) -> None:
        """Send what is buffered; waits when too many batches are unacknowledged (backpressure).

        The buffers and cursors are taken in one step without awaiting, so lines added while the
        batches are being sent go into the next flush, and the cursors taken match the lines sent.
        Sending continues if the caller is cancelled; :meth:`close` waits for it.
        """
        async with self._lock:
            if not self._buffered and not self._cursors:
                return
            buffers, self._buffers = self._buffers, {}
            closed, self._full = self._full, []
            cursors = {key: cur.copy() for key, cur in self._cursors.items()}
            self._cursors = {}
            lines, self._buffered, self._oldest = self._buffered, 0, None
            now = self._clock()
            batches = [self._batch(stream, buf, now) for stream, buf in [*closed, *buffers.items()]]
            self.stats.lines += lines
            self.stats.batches += len(batches)
            metrics.SOURCE_LINES.labels(self.source).inc(lines)
            if self._last_ts_ns:
                metrics.SOURCE_LAG.labels(self.source).set(max(0.0, now - self._last_ts_ns / 1e9))
            self._sending = asyncio.ensure_future(self._send(self._sending, batches, cursors, lines))
            await asyncio.shield(self._sending)

    def _batch(self, stream: str, buf: _Buffer, now: float) -> RawBatch:
        seq = self._seq.get(stream, 0)
        self._seq[stream] = seq + 1
        batch_id = (
            self._batch_id(stream, buf.lines, buf.timestamps)
            if self._batch_id is not None
            else f"{self._run_id}:{seq}:{stream}"[:256]
        )
        return RawBatch(
            batch_id=batch_id,
            trace_id=trace_id_for(batch_id),  # a trace starts at each batch
            source=self.source,
            stream=stream,
            seq=seq,
            labels=buf.labels,
            format=self._fmt,
            lines=buf.lines,
            timestamps_ns=buf.timestamps if buf.has_ts else None,
            sent_at=now,
            auto_fix=self._auto_fix,
        )

    async def _send(
        self,
        previous: asyncio.Future[None] | None,
        batches: list[RawBatch],
        cursors: dict[str, Cursor],
        lines: int,
    ) -> None:
        if previous is not None:
            await previous  # keeps batches (and cursor writes) in flush order
        sent = [(batch, await self._sender.send_batch(batch)) for batch in batches]
        await self._inflight.put(_InFlight(sent, cursors, lines))

    async def _timer_loop(self) -> None:
        while True:
            await asyncio.sleep(self._max_age / 2)
            if self._oldest is not None and self._clock() - self._oldest >= self._max_age:
                await self.flush()

    async def _ack_loop(self) -> None:
        while True:
            item = await self._inflight.get()
            if item is None:
                return
            for batch, fut in item.batches:
                meta = await self._await_ack(batch, fut)
                partition, offset = getattr(meta, "partition", None), getattr(meta, "offset", None)
                if isinstance(partition, int) and isinstance(offset, int):
                    self._offsets[partition] = max(offset, self._offsets.get(partition, -1))
            self.stats.acked_lines += item.lines
            if self._saver is not None:
                for key, cursor in item.cursors.items():
                    cursor.offsets = dict(self._offsets)
                    await self._saver.save(key, cursor)
                    self.stats.cursor_writes += 1
            self.acked.set()

    async def _await_ack(self, batch: RawBatch, fut: asyncio.Future[object]) -> object:
        attempt = 1
        while True:
            try:
                return await fut
            except Exception as exc:
                if attempt >= SEND_ATTEMPTS:
                    raise BrokerError(f"batch {batch.batch_id} not acknowledged: {exc}") from exc
                with trace(batch.trace_id):
                    log.warning(
                        "resending batch",
                        extra={"batch_id": batch.batch_id, "attempt": attempt, "error": str(exc)},
                    )
                attempt += 1
                fut = await self._sender.send_batch(batch)

    async def close(self) -> None:
        """Flush, wait for every acknowledgement and write the last cursors."""
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        if self._acker is None:
            return
        if self._sending is not None:
            await self._sending
        if not self._acker.done():
            await self.flush()
            await self._inflight.put(None)
        acker, self._acker = self._acker, None
        await acker


def content_batch_id(prefix: str) -> Callable[[str, list[str], list[int]], str]:
    """Batch ids from a batch's content (stream, lines, timestamps): equal batches get equal ids."""

    def batch_id(stream: str, lines: list[str], timestamps: list[int]) -> str:
        digest = hashlib.blake2b(digest_size=16)
        digest.update(stream.encode("utf-8", "surrogatepass") + b"\0")
        for ts, line in itertools.zip_longest(timestamps, lines):
            digest.update(f"{ts}\0".encode() + (line or "").encode("utf-8", "surrogatepass") + b"\n")
        first = timestamps[0] if timestamps else 0
        return f"{prefix}:{first}:{len(lines)}:{digest.hexdigest()}"

    return batch_id


def count_dropped(source: str, reason: str, count: int, detail: str = "") -> None:
    """Lines lost before they reached streamfix: one metric and one log line."""
    if count <= 0:
        return
    metrics.SOURCE_DROPPED.labels(source, reason).inc(count)
    log.warning(
        "lines lost upstream", extra={"source": source, "reason": reason, "count": count, "detail": detail}
    )
