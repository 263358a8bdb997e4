"""File and stdin sources.

:class:`FileFollower` follows one path like ``tail -F``: it polls the path's inode and size, reads
the rest of the old file when the path is rotated (renamed or replaced), starts from the top of the
new file, and starts over when the file shrinks (truncation). :meth:`FileFollower.poll` does one
step and returns the complete lines that appeared, so tests drive it without sleeping; a partial
last line waits for its newline. :func:`read_stdin` reads a pipe until EOF.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import BinaryIO

from streamfix.core.cursor import Cursor
from streamfix.core.formats import stream_key
from streamfix.sources.base import CURSOR_LABEL, BatchPipeline, Digests, Format

log = logging.getLogger(__name__)

PublishedAfter = Callable[[dict[str, Cursor]], Awaitable[dict[str, int]]]
READ_SIZE = 1 << 20
MAX_LINES_PER_POLL = 20_000  # a big backlog is read over several steps, so memory stays bounded
MAX_PARTIAL = 4 * 1024 * 1024  # a "line" longer than this is cut and published in pieces


class FileFollower:
    """Follows one path across rotation and truncation. Call :meth:`poll` repeatedly."""

    def __init__(self, path: str, *, from_start: bool = True, resume: tuple[int, ...] = (),
                 skip_lines: int = 0) -> None:
        self.path = path
        self._resume = resume
        self._skip = skip_lines  # complete lines after ``resume`` that were already published
        self._fh: BinaryIO | None = None
        self._inode: tuple[int, int] | None = None
        self._offset = 0
        self._partial = b""
        self._from_start = from_start
        self.skipping = 0  # lines still to drop: set when the resume position holds (same file)
        self.rotations = 0
        self.truncations = 0
        self.max_lines = MAX_LINES_PER_POLL
        self.read_size = READ_SIZE

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def _open(self) -> bool:
        try:
            fh = open(self.path, "rb")  # noqa: SIM115 - kept open across polls
        except FileNotFoundError:
            return False
        st = os.fstat(fh.fileno())
        self._fh, self._inode = fh, (st.st_dev, st.st_ino)
        self._offset = 0 if self._from_start else st.st_size
        if len(self._resume) == 3:
            if self._resume[:2] == self._inode and st.st_size >= self._resume[2]:
                self._offset = self._resume[2]
                self.skipping = self._skip
            else:
                log.warning("file replaced or truncated while not watched; reading it from the start",
                            extra={"path": self.path})
                self._offset = 0
        self._resume = ()
        self._from_start = True  # later files (after rotation) are read from their start
        fh.seek(self._offset)
        return True

    @property
    def position(self) -> tuple[int, ...]:
        """``(device, inode, offset after the last complete line)``; empty before the file was opened."""
        if self._inode is None:
            return ()
        return (*self._inode, self._offset - len(self._partial))

    def _read_all(self, max_lines: int | None = None) -> list[bytes]:
        assert self._fh is not None
        out: list[bytes] = []
        while max_lines is None or len(out) < max_lines:
            chunk = self._fh.read(self.read_size)
            if not chunk:
                break
            self._offset += len(chunk)
            data = self._partial + chunk
            parts = data.split(b"\n")
            self._partial = parts.pop()
            if len(self._partial) > MAX_PARTIAL:
                parts.append(self._partial)
                self._partial = b""
            out.extend(parts)
        return out

    def poll(self) -> list[str]:
        """One step: the complete new lines (without line endings) since the previous step."""
        lines = self._poll()
        if self.skipping and lines:
            dropped = min(self.skipping, len(lines))
            self.skipping -= dropped
            lines = lines[dropped:]
        return lines

    def _poll(self) -> list[str]:
        if self._fh is None and not self._open():
            return []
        raw = self._read_all(self.max_lines)
        if len(raw) >= self.max_lines:  # more is waiting; rotation and truncation are checked at its end
            return [line.decode("utf-8", "replace").rstrip("\r") for line in raw]
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None
        if st is not None and (st.st_dev, st.st_ino) != self._inode:
            raw.extend(self._read_all())  # whatever was written to the old file before it moved
            if self._partial:
                raw.append(self._partial)
                self._partial = b""
            self.close()
            self.rotations += 1
            log.info("file rotated", extra={"path": self.path})
            if self._open():
                raw.extend(self._read_all())
        elif st is not None and st.st_size < self._offset:
            self.truncations += 1
            log.info("file truncated", extra={"path": self.path})
            assert self._fh is not None
            self._fh.seek(0)
            self._offset = 0
            self._partial = b""
            raw.extend(self._read_all())
        return [line.decode("utf-8", "replace").rstrip("\r") for line in raw]


def cursor_key(path: str) -> str:
    return f"file:{os.path.abspath(path)}"


async def follow_files(pipeline: BatchPipeline, paths: Sequence[str], *, interval: float = 0.25,
                       from_start: bool = True, cursors: dict[str, Cursor] | None = None,
                       published: dict[str, int] | None = None) -> None:
    """Follow ``paths`` until cancelled; stream key ``file/<path>``.

    With ``cursors`` (by :func:`cursor_key`), each file resumes after the last line published
    before, if it is still the same file (device and inode) and not shorter; ``published`` gives, per
    key, the lines found on the raw topic after that cursor (a hard kill), which are not sent again.
    """
    known, after = cursors or {}, published or {}
    followers = []
    for p in paths:
        key = cursor_key(p)
        resume = known[key].position if key in known else ()
        followers.append(FileFollower(p, from_start=from_start, resume=resume, skip_lines=after.get(key, 0)))
    try:
        while True:
            busy = False
            for follower in followers:
                lines = follower.poll()
                busy = busy or bool(lines)
                key = cursor_key(follower.path)
                stream = stream_key("file", path=follower.path)
                labels = {"path": follower.path, CURSOR_LABEL: key}
                for line in lines:
                    if pipeline.add(stream, labels, line):
                        await pipeline.flush()  # the cursor set below waits for the next flush
                if lines:
                    pipeline.set_cursor(key, Cursor(position=follower.position))
            if not busy:
                await asyncio.sleep(interval)
    finally:
        for follower in followers:
            follower.close()


async def read_stdin(pipeline: BatchPipeline, stream: BinaryIO, *, name: str = "stdin") -> int:
    """Publish every line of ``stream`` until EOF; returns the number of lines."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=16)

    def reader() -> None:
        try:
            while True:
                chunk = stream.read(READ_SIZE)
                asyncio.run_coroutine_threadsafe(queue.put(chunk or None), loop).result()
                if not chunk:
                    return
        except Exception:
            log.exception("reading stdin failed")
            asyncio.run_coroutine_threadsafe(queue.put(None), loop).result()

    threading.Thread(target=reader, name="stdin-reader", daemon=True).start()
    partial = b""
    count = 0
    labels = {"path": name}
    name = stream_key("stdin", name=name)
    while (chunk := await queue.get()) is not None:
        parts = (partial + chunk).split(b"\n")
        partial = parts.pop()
        for part in parts:
            count += 1
            if pipeline.add(name, labels, part.decode("utf-8", "replace").rstrip("\r")):
                await pipeline.flush()
    if partial:
        count += 1
        pipeline.add(name, labels, partial.decode("utf-8", "replace").rstrip("\r"))
    await pipeline.flush()
    return count


class StopOnDemand:
    """``stop()`` for a source whose ``run`` is one task: it cancels that task (the runner then flushes)."""

    _task: asyncio.Task[object] | None = None

    def _started(self) -> None:
        self._task = asyncio.current_task()

    def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()


class FileSource(StopOnDemand):
    """Files followed like ``tail -F`` (:func:`follow_files`); one cursor (a file position) per path."""

    kind = "file"
    digests: Digests | None = None  # a position is exact; lines after it are counted instead

    def __init__(self, paths: Sequence[str], *, interval: float = 0.25, from_start: bool = True,
                 fmt: Format = "auto", published_after: PublishedAfter | None = None) -> None:
        """``published_after(cursors)``: lines each key published after its cursor (see
        :func:`streamfix.sources.cursors.lines_published_after`), asked once before following."""
        self.paths = list(paths)
        self.published_after = published_after
        self.interval = interval
        self.from_start = from_start
        self.fmt: Format = fmt
        self.cursors: dict[str, Cursor] = {}

    def default_stream_key(self) -> str:
        return stream_key("file", path=self.paths[0]) if self.paths else stream_key("file", path="")

    def cursor_keys(self) -> list[str]:
        return [cursor_key(p) for p in self.paths]

    def resume(self, key: str, cursor: Cursor | None, skip: set[tuple[int, str]]) -> None:
        if cursor is not None:
            self.cursors[key] = cursor

    async def run(self, pipeline: BatchPipeline) -> int:
        self._started()
        published = await self.published_after(self.cursors) if self.published_after and self.cursors else {}
        await follow_files(pipeline, self.paths, interval=self.interval, from_start=self.from_start,
                           cursors=self.cursors, published=published)
        return 0  # not reached: follows until cancelled


class StdinSource(StopOnDemand):
    """Lines from a pipe until EOF (:func:`read_stdin`); no cursor, a pipe cannot be read again."""

    kind = "stdin"
    digests: Digests | None = None

    def __init__(self, stream: BinaryIO, *, name: str = "stdin", fmt: Format = "auto") -> None:
        self.stream = stream
        self.name = name
        self.fmt: Format = fmt

    def default_stream_key(self) -> str:
        return stream_key("stdin", name=self.name)

    def cursor_keys(self) -> list[str]:
        return []

    def resume(self, key: str, cursor: Cursor | None, skip: set[tuple[int, str]]) -> None:
        raise ValueError("stdin keeps no cursor")

    async def run(self, pipeline: BatchPipeline) -> int:
        self._started()
        return await read_stdin(pipeline, self.stream, name=self.name)
