"""File following across rotation and truncation (driven step by step), and stdin."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from pathlib import Path

import pytest

from streamfix.runtime.settings import Settings
from streamfix.sources.base import BatchPipeline
from streamfix.sources.cursors import MemoryCursorStore
from streamfix.sources.files import FileFollower, cursor_key, follow_files, read_stdin
from tests.fakes import MemorySender


def append(path: Path, text: str) -> None:
    with path.open("a") as fh:
        fh.write(text)


def test_follow_new_lines_and_wait_for_a_partial_line(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    f = FileFollower(str(log))
    assert f.poll() == []  # not there yet
    append(log, "one\ntwo\r\nthr")
    assert f.poll() == ["one", "two"]
    assert f.poll() == []
    append(log, "ee\n")
    assert f.poll() == ["three"]
    f.close()


def test_rotation_by_rename_reads_the_old_file_to_its_end(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, "a1\n")
    f = FileFollower(str(log))
    assert f.poll() == ["a1"]
    append(log, "a2\na3")  # written just before rotation, partial last line
    os.rename(log, tmp_path / "app.log.1")
    append(log, "b1\n")
    assert f.poll() == ["a2", "a3", "b1"]
    assert f.rotations == 1
    append(log, "b2\n")
    assert f.poll() == ["b2"]
    f.close()


def test_truncation_starts_over(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, "x" * 50 + "\n")
    f = FileFollower(str(log))
    assert len(f.poll()) == 1
    log.write_text("new\n")  # truncate and write less than before
    assert f.poll() == ["new"]
    assert f.truncations == 1
    f.close()


def test_deleted_then_recreated(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, "old\n")
    f = FileFollower(str(log))
    assert f.poll() == ["old"]
    log.unlink()
    assert f.poll() == []
    append(log, "fresh\n")
    assert f.poll() == ["fresh"]
    f.close()


def test_from_end_skips_existing_content(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, "before\n")
    f = FileFollower(str(log), from_start=False)
    assert f.poll() == []
    append(log, "after\n")
    assert f.poll() == ["after"]
    f.close()


async def test_stdin_reads_until_eof() -> None:
    sender = MemorySender()
    data = b"".join(f"line {i}\n".encode() for i in range(2500)) + b"last without newline"
    async with BatchPipeline(Settings(batch_max_lines=1000), sender, "stdin") as pipeline:
        count = await read_stdin(pipeline, io.BytesIO(data))
    assert count == 2501
    assert sender.lines[-1] == "last without newline"
    assert [len(b.lines) for b in sender.batches] == [1000, 1000, 501]
    assert [b.seq for b in sender.batches] == [0, 1, 2]
    assert len({b.batch_id for b in sender.batches}) == 3
    assert all(b.timestamps_ns is None for b in sender.batches)


def test_resume_continues_the_same_file_and_restarts_a_replaced_one(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, "one\ntwo\npart")
    f = FileFollower(str(log))
    assert f.poll() == ["one", "two"]
    position = f.position
    f.close()
    append(log, "ial\nthree\n")
    resumed = FileFollower(str(log), resume=position)
    assert resumed.poll() == ["partial", "three"]
    resumed.close()
    os.rename(log, tmp_path / "app.log.1")
    append(log, "new file\n")
    replaced = FileFollower(str(log), resume=position)
    assert replaced.poll() == ["new file"]
    replaced.close()


async def test_follow_files_saves_cursors_and_resumes_from_them(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, "".join(f"l{i}\n" for i in range(30)))
    store = MemoryCursorStore()
    sender = MemorySender()
    async with BatchPipeline(Settings(batch_max_lines=7), sender, "file", cursor_saver=store) as pipeline:
        task = asyncio.create_task(follow_files(pipeline, [str(log)], interval=0.01))
        await sender.wait_lines(30)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert store.cursors[cursor_key(str(log))].position[2] == log.stat().st_size
    append(log, "after restart\n")
    again = MemorySender()
    async with BatchPipeline(Settings(), again, "file", cursor_saver=store) as pipeline:
        task = asyncio.create_task(follow_files(pipeline, [str(log)], interval=0.01, cursors=store.cursors))
        await again.wait_lines(1)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert again.lines == ["after restart"]


def test_a_backlog_is_read_in_bounded_steps(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, "".join(f"{i:03d}\n" for i in range(100)))  # 4 bytes a line
    f = FileFollower(str(log))
    f.max_lines, f.read_size = 30, 40  # 10 lines per read
    steps = [f.poll() for _ in range(5)]
    assert [len(s) for s in steps] == [30, 30, 30, 10, 0]
    assert [line for s in steps for line in s] == [f"{i:03d}" for i in range(100)]
    f.close()


@pytest.mark.parametrize(
    ("same_file", "skip", "expected"),
    [
        pytest.param(True, 0, ["c", "d", "e"], id="resume-after-the-cursor"),
        pytest.param(True, 2, ["e"], id="lines-published-after-the-cursor-are-not-sent-again"),
        pytest.param(True, 5, [], id="more-published-than-written-yet"),
        pytest.param(False, 2, ["a", "b", "c", "d", "e"], id="replaced-file-is-read-whole-no-skip"),
    ],
)
def test_resume_skips_lines_published_after_the_cursor(
    tmp_path: Path, same_file: bool, skip: int, expected: list[str]
) -> None:
    log = tmp_path / "app.log"
    log.write_text("a\nb\n")
    first = FileFollower(str(log))
    assert first.poll() == ["a", "b"]
    cursor = first.position
    first.close()
    if same_file:
        with log.open("a") as fh:
            fh.write("c\nd\ne\n")
    else:  # a new file (another inode) moved over the path, as log rotation does
        new = tmp_path / "app.log.new"
        new.write_text("a\nb\nc\nd\ne\n")
        os.replace(new, log)
    again = FileFollower(str(log), resume=cursor, skip_lines=skip)
    got = []
    for _ in range(3):
        got += again.poll()
    assert got == expected
