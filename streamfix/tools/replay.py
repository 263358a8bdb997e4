"""Publishing a log file as raw batches (``streamfix replay``, ``make demo``, tests and benchmarks)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from streamfix.core.trace import trace_id_for
from streamfix.kafka.clients import Publisher, ensure_topics
from streamfix.kafka.wire import RawBatch
from streamfix.runtime.settings import Settings


@dataclass(frozen=True)
class ReplayResult:
    lines: int
    batches: int
    seconds: float


def read_lines(path: Path) -> Iterator[str]:
    """Lines of a file: split at ``\\n`` only, a trailing ``\\r`` stripped, undecodable bytes replaced."""
    with path.open("rb") as handle:
        for raw in handle:
            yield raw.rstrip(b"\n").removesuffix(b"\r").decode("utf-8", errors="replace")


def batches(
    lines: Iterable[str], *, stream: str, source: str, labels: dict[str, str], size: int,
    fmt: str = "auto", auto_fix: bool = False, run_id: str | None = None, max_bytes: int | None = None,
) -> Iterator[RawBatch]:
    """Batches of at most ``size`` lines and ``max_bytes`` UTF-8 bytes (a longer line goes alone)."""
    run = run_id or uuid.uuid4().hex[:12]
    chunk: list[str] = []
    seq = chunk_bytes = 0
    for line in lines:
        line_bytes = len(line.encode("utf-8", "surrogatepass")) if max_bytes is not None else 0
        if chunk and max_bytes is not None and chunk_bytes + line_bytes > max_bytes:
            yield _batch(chunk, seq, run, stream, source, labels, fmt, auto_fix)
            chunk, seq, chunk_bytes = [], seq + 1, 0
        chunk.append(line)
        chunk_bytes += line_bytes
        if len(chunk) >= size:
            yield _batch(chunk, seq, run, stream, source, labels, fmt, auto_fix)
            chunk, seq, chunk_bytes = [], seq + 1, 0
    if chunk:
        yield _batch(chunk, seq, run, stream, source, labels, fmt, auto_fix)


def _batch(chunk: list[str], seq: int, run: str, stream: str, source: str, labels: dict[str, str],
           fmt: str, auto_fix: bool) -> RawBatch:
    batch_id = f"{source}:{run}:{seq}"
    return RawBatch(
        batch_id=batch_id, trace_id=trace_id_for(batch_id), source=source, stream=stream, seq=seq,
        labels=labels, format=fmt, lines=chunk, sent_at=time.time(), auto_fix=auto_fix,
    )


async def replay(
    settings: Settings, path: Path, *, service: str, fmt: str = "auto", auto_fix: bool = False,
    batch_size: int | None = None, deployment: str | None = None,
) -> ReplayResult:
    """Publish every line of ``path`` to the raw topic, in order, and wait for the broker's acks."""
    await ensure_topics(settings)
    labels = {"service": service}
    if deployment:
        labels["deployment"] = deployment
    stream = f"replay:{service}" + (f":{deployment}" if deployment else "")
    started = time.perf_counter()
    count = n_batches = 0
    async with Publisher(settings) as pub:
        for batch in batches(read_lines(path), stream=stream, source="replay", labels=labels,
                             size=batch_size or settings.batch_max_lines, fmt=fmt, auto_fix=auto_fix,
                             max_bytes=settings.batch_max_bytes):
            await pub.send_batch(batch)
            count += len(batch.lines)
            n_batches += 1
        await pub.flush()
    return ReplayResult(lines=count, batches=n_batches, seconds=time.perf_counter() - started)
