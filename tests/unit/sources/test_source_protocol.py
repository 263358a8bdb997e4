"""Every source kind behind the one Source interface, run through a batch pipeline on the in-memory transport."""  # noqa: E501

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from streamfix.core.formats import FORMATS, STREAM_KEYS
from streamfix.kafka.publish import MemoryPublisher
from streamfix.kafka.wire import RawBatch
from streamfix.runtime.settings import Settings
from streamfix.sources.base import BatchPipeline
from streamfix.sources.cursors import MemoryCursorStore
from streamfix.sources.files import FileSource, StdinSource, cursor_key
from streamfix.sources.loki import LokiTarget
from streamfix.sources.runner import SOURCES, LokiSource, RailwaySource

SETTINGS = Settings(batch_max_lines=1000, batch_max_seconds=60.0)


def sources(tmp_path: Path) -> list[object]:
    return [
        RailwaySource(SETTINGS, services=["api"], environment="production"),
        LokiSource(SETTINGS, LokiTarget("http://loki:3100", '{app="api"}')),
        FileSource([str(tmp_path / "app.log")]),
        StdinSource(io.BytesIO(b"")),
    ]


def test_every_kind_is_listed_and_keys_follow_the_one_table(tmp_path: Path) -> None:
    built = sources(tmp_path)
    assert [type(s) for s in built] == list(SOURCES)
    assert {s.kind for s in built} == set(STREAM_KEYS)  # type: ignore[attr-defined]
    for source in built:
        assert source.fmt in FORMATS  # type: ignore[attr-defined]
        assert all(key.startswith(f"{source.kind}:") for key in source.cursor_keys())  # type: ignore[attr-defined]
    assert [s.default_stream_key() for s in built] == [  # type: ignore[attr-defined]
        "railway/api/-/-", "loki/{}", f"file/{tmp_path / 'app.log'}", "stdin"]


async def test_stdin_publishes_until_eof_as_one_stream() -> None:
    out = MemoryPublisher()
    async with BatchPipeline(SETTINGS, out, "stdin") as pipeline:
        count = await StdinSource(io.BytesIO(b"a\nb\r\nc"), name="job").run(pipeline)
    [batch] = out.records("raw", RawBatch)
    assert (count, batch.stream, batch.lines, batch.source) == (3, "job", ["a", "b", "c"], "stdin")


async def test_a_file_source_resumes_from_its_cursor_and_stops_on_demand(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("one\ntwo\n")
    out, store = MemoryPublisher(), MemoryCursorStore()
    quick = Settings(batch_max_lines=1000, batch_max_seconds=0.05)  # the flush timer sends, then the cursor

    async def run_until_acked(source: FileSource) -> None:
        async with BatchPipeline(quick, out, "file", cursor_saver=store) as pipeline:
            task = asyncio.create_task(source.run(pipeline))
            await pipeline.acked.wait()
            source.stop()
            with pytest.raises(asyncio.CancelledError):
                await task

    await run_until_acked(FileSource([str(log)], interval=0.01))
    log.write_text("one\ntwo\nthree\n")
    again = FileSource([str(log)], interval=0.01)
    key = cursor_key(str(log))
    again.resume(key, store.cursors[key], set())
    await run_until_acked(again)
    assert [b.lines for b in out.records("raw", RawBatch)] == [["one", "two"], ["three"]]
