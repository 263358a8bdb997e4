"""Raw batches are bounded in bytes at the producer (STREAMFIX_BATCH_MAX_BYTES)."""

from __future__ import annotations

import pytest

from streamfix.runtime.settings import Settings
from streamfix.sources.base import BatchPipeline
from tests.fakes import MemorySender

MB = 1024 * 1024


def size(lines: list[str]) -> int:
    return sum(len(line.encode("utf-8", "surrogatepass")) for line in lines)


@pytest.mark.parametrize(
    ("lines", "max_bytes"),
    [
        pytest.param(["x" * (MB - 10)] * 14, 4 * MB, id="14-lines-of-1mb"),
        pytest.param(["é" * 300] * 50, 2048, id="multibyte-counts-bytes"),
        pytest.param(["a" * 5000, "b", "c" * 5000], 2048, id="one-line-over-the-limit-alone"),
        pytest.param([f"line {n}" for n in range(500)], 1024, id="many-small"),
    ],
)
async def test_no_batch_exceeds_the_limit_unless_it_is_one_line(lines: list[str], max_bytes: int) -> None:
    sender = MemorySender()
    settings = Settings(batch_max_bytes=max_bytes, batch_max_lines=100_000, batch_max_seconds=3600)
    async with BatchPipeline(settings, sender, "test") as pipeline:
        for line in lines:
            await pipeline.add_line("s", {}, line)
    assert sender.lines == lines  # every line, in order
    for batch in sender.batches:
        assert size(batch.lines) <= max_bytes or len(batch.lines) == 1


async def test_two_streams_keep_their_own_order() -> None:
    sender = MemorySender()
    settings = Settings(batch_max_bytes=1024, batch_max_lines=100_000, batch_max_seconds=3600)
    async with BatchPipeline(settings, sender, "test") as pipeline:
        for n in range(300):
            pipeline.add("a" if n % 3 else "b", {}, f"{n:04d}" * 20)
        await pipeline.flush()
    for stream in ("a", "b"):
        got = [line for b in sender.batches if b.stream == stream for line in b.lines]
        assert got == [f"{n:04d}" * 20 for n in range(300) if (n % 3 != 0) == (stream == "a")]
        assert [b.seq for b in sender.batches if b.stream == stream] == sorted(
            b.seq for b in sender.batches if b.stream == stream)


def test_replay_batches_are_bounded_in_bytes_too() -> None:
    from streamfix.tools.replay import batches

    lines = ["x" * (MB - 10)] * 14
    got = list(batches(lines, stream="s", source="replay", labels={}, size=1000, max_bytes=4 * MB))
    assert [len(b.lines) for b in got] == [4, 4, 4, 2]
    assert [line for b in got for line in b.lines] == lines
