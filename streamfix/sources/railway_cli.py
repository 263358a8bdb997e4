"""Running the Railway CLI: history runs on pipes, streams under a pseudo-terminal, spawns rate-limited.

The real CLI streams only when its stdout is a terminal (``railway logs``, since 4.17); on a pipe it
prints history and exits. :func:`run_cli` with ``tty=True`` gives it a pseudo-terminal as stdout (raw
mode: no echo, no ``\\r\\n`` translation; a 32767-column window so nothing wraps) while stderr stays a
pipe; control sequences are stripped from what it prints. Every start goes through one
:class:`SpawnLimiter` per process (at most ``per_minute`` starts in any 60 seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import fcntl
import logging
import os
import pty
import shutil
import signal
import struct
import sys
import termios
import time
import tty
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from streamfix.core.railway_history import cli_error, strip_controls
from streamfix.errors import SourceError

log = logging.getLogger(__name__)
READ_SIZE = 1 << 16
STDERR_KEEP = 1 << 16
NPX = ("npx", "--yes", "@railway/cli")


class SpawnLimiter:
    """At most ``per_minute`` CLI starts in any ``window_s`` seconds.

    Shared by every watcher of a process; with ``state_path`` also by every process using that file
    (start times are kept there under a lock), so a restarted watcher counts the starts of the one
    before it. The defaults (28 in 61 s) stay under 30 a minute even when a start is measured by the
    started process, a little later than it was made.
    """

    def __init__(
        self,
        per_minute: int = 28,
        window_s: float = 61.0,
        clock: Callable[[], float] = time.time,
        state_path: Path | None = None,
    ) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self._clock = clock
        self._starts: deque[float] = deque()
        self._lock = asyncio.Lock()
        self._path = state_path
        self.total = 0

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                wait = self._try(self._clock())
                if wait <= 0:
                    self.total += 1
                    return
                await asyncio.sleep(wait)

    def _try(self, now: float) -> float:
        """Take a start now (0) or say how long to wait for one."""
        if self._path is None:
            return self._take(self._starts, now)
        try:
            return self._try_shared(self._path, now)
        except OSError as exc:
            log.warning(
                "CLI start times cannot be shared through a file; limiting this process only",
                extra={"path": str(self._path), "error": str(exc)},
            )
            self._path = None
            return self._take(self._starts, now)

    def _try_shared(self, path: Path, now: float) -> float:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            starts: deque[float] = deque()
            with contextlib.suppress(FileNotFoundError):
                for line in path.read_text(encoding="utf-8").split():
                    with contextlib.suppress(ValueError):
                        starts.append(float(line))
            wait = self._take(starts, now)
            tmp = path.with_name(f"{path.name}.{os.getpid()}")
            tmp.write_text("".join(f"{t:.3f}\n" for t in starts), encoding="utf-8")
            os.replace(tmp, path)  # a process killed mid-write leaves the previous list, never an empty one
        return wait

    def _take(self, starts: deque[float], now: float) -> float:
        while starts and (now - starts[0] >= self.window_s or starts[0] > now + self.window_s):
            starts.popleft()
        if len(starts) < self.per_minute:
            starts.append(now)
            return 0.0
        return max(0.01, starts[0] + self.window_s - now)


def resolve_command(railway_bin: str, which: Callable[[str], str | None] = shutil.which) -> list[str]:
    """The command that runs the CLI: ``railway_bin``, or ``npx @railway/cli`` when only npx is there."""
    if which(railway_bin) is not None:
        return [railway_bin]
    if railway_bin == "railway" and which("npx") is not None:
        sys.stderr.write("streamfix: railway CLI not found on PATH; running it with `npx @railway/cli`\n")
        return list(NPX)
    raise SourceError(
        f"railway CLI not found: {railway_bin!r} is not on PATH and npx is not available "
        "(install @railway/cli or set STREAMFIX_RAILWAY_BIN)"
    )


@dataclass(slots=True)
class RunResult:
    lines: int
    returncode: int
    stderr: str

    @property
    def error(self) -> str:
        return cli_error(self.stderr, self.returncode)


LineSink = Callable[[list[str]], Awaitable[None]]


async def _read_chunk(fd: int) -> bytes:
    """One read from a non-blocking fd; b"" at the end (EIO is how a pty master reports it)."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            return os.read(fd, READ_SIZE)
        except BlockingIOError:
            fut: asyncio.Future[None] = loop.create_future()
            loop.add_reader(fd, _wake, fut)
            try:
                await fut
            finally:
                loop.remove_reader(fd)
        except OSError as exc:
            if exc.errno == errno.EIO:
                return b""
            raise


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def collect(argv: Sequence[str]) -> tuple[RunResult, list[str]]:
    """Run the CLI on pipes and return its result and every stdout line."""
    out: list[str] = []

    async def sink(lines: list[str]) -> None:
        out.extend(lines)

    return await run_cli(argv, sink), out


async def _collect(stream: asyncio.StreamReader) -> bytes:
    kept = bytearray()
    while chunk := await stream.read(READ_SIZE):
        if len(kept) < STDERR_KEEP:
            kept += chunk[: STDERR_KEEP - len(kept)]
    return bytes(kept)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the watcher dies, even by SIGKILL (Linux)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _open_pty() -> tuple[int, int]:
    master, slave = pty.openpty()
    tty.setraw(slave)  # no echo, no canonical mode, no output post-processing
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 100, 32767, 0, 0))
    os.set_blocking(master, False)
    return master, slave


async def run_cli(argv: Sequence[str], sink: LineSink, *, tty_out: bool = False) -> RunResult:
    """Run the CLI to its end, handing complete stdout lines to ``sink`` as they come.

    Cancelling terminates the process (killed after 5 s) and closes its descriptors.
    """
    master = slave = -1
    if tty_out:
        master, slave = _open_pty()
        stdout: int = slave
    else:
        rfd, wfd = os.pipe()
        os.set_blocking(rfd, False)
        master, slave, stdout = rfd, wfd, wfd
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=stdout,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=_die_with_parent,
        )
    except (FileNotFoundError, PermissionError) as exc:
        os.close(master)
        os.close(slave)
        raise SourceError(f"railway CLI cannot be run ({argv[0]!r}): {exc}") from None
    os.close(slave)
    assert proc.stderr is not None
    err_task = asyncio.ensure_future(_collect(proc.stderr))
    lines = 0
    pending = b""
    try:
        while chunk := await _read_chunk(master):
            parts = (pending + chunk).split(b"\n")
            pending = parts.pop()
            out = _decode(parts, tty_out)
            if out:
                lines += len(out)
                await sink(out)
        out = _decode([pending], tty_out)
        if out:
            lines += len(out)
            await sink(out)
        returncode = await proc.wait()
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                await asyncio.shield(asyncio.wait_for(proc.wait(), 5))
            except (TimeoutError, asyncio.CancelledError):
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
        os.close(master)
        if not err_task.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(err_task), 5)
    stderr = (
        err_task.result().decode("utf-8", "replace") if err_task.done() and not err_task.cancelled() else ""
    )
    return RunResult(lines, returncode, stderr)


def _decode(parts: list[bytes], tty_out: bool) -> list[str]:
    out = []
    for raw in parts:
        text = raw.decode("utf-8", "replace").rstrip("\r")
        if tty_out:
            text = strip_controls(text)
        if text.strip():
            out.append(text)
    return out
