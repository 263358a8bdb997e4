"""Railway source: runs ``railway logs --json`` per service and publishes what it prints.

The CLI streams until its connection drops and then exits with status 0, so the watcher respawns it
(immediately after a run that delivered lines, with exponential backoff after runs that did not).
Before each stream it catches up with ``--since <last timestamp>`` (history mode), and when the
first streamed line is later than the cursor it fills the gap with ``--since``/``--until``. Lines
that come back at the resume timestamp are dropped by the :class:`~streamfix.core.cursor.Deduper`.
Each JSON line is parsed only for its timestamp, message and deployment/replica labels and is
published unchanged (format ``railway``), keyed by ``railway/<service>/<deployment>/<replica>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import orjson

from streamfix.core.cursor import Backoff, Cursor, Deduper, format_ts_ns, line_hash, parse_ts_ns
from streamfix.errors import SourceError
from streamfix.kafka.wire import RawBatch
from streamfix.runtime import metrics
from streamfix.sources.base import CURSOR_LABEL, BatchPipeline

log = logging.getLogger(__name__)

_DEPLOYMENT_KEYS = ("deploymentId", "deployment_id", "deployment")
_REPLICA_KEYS = ("deploymentInstanceId", "replica", "replicaId", "replica_id", "instance")
_FATAL = re.compile(r"unauthori[sz]ed|not logged in|railway login|no linked project|invalid token|forbidden", re.I)
_READ_SIZE = 1 << 16
# A history run that brings at least this many new lines is repeated from the new cursor, in case
# the CLI capped its output; a smaller one is taken as complete.
HISTORY_REPEAT_AT = 100


class RailwayLine(NamedTuple):
    ts_ns: int
    ts_text: str
    message: str
    deployment: str
    replica: str


def parse_railway_line(raw: str | bytes) -> RailwayLine | None:
    """The fields the watcher needs from one ``--json`` line; None when it is not such a line."""
    try:
        obj = orjson.loads(raw)
        ts_text = obj["timestamp"]
        ts_ns = parse_ts_ns(ts_text)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    message = obj.get("message", "")
    return RailwayLine(
        ts_ns,
        ts_text,
        message if isinstance(message, str) else str(message),
        _first(obj, _DEPLOYMENT_KEYS),
        _first(obj, _REPLICA_KEYS),
    )


def line_digests(batch: RawBatch) -> Iterator[tuple[int, str, str]]:
    """``(ts_ns, ts_text, hash)`` of a published Railway batch's lines, hashed as the watcher hashes them."""
    for line in batch.lines:
        parsed = parse_railway_line(line)
        if parsed is not None:
            yield parsed.ts_ns, parsed.ts_text, line_hash(parsed.message, parsed.deployment, parsed.replica)


def _first(obj: dict[str, object], keys: Sequence[str]) -> str:
    for key in keys:
        value = obj.get(key)
        if value is not None and value != "":
            return str(value)
    return "-"


async def check_cli(railway_bin: str, service: str | None = None, environment: str | None = None) -> None:
    """Run ``railway logs --json -n 1`` once, so a missing CLI, login or link fails with the CLI's message."""
    args = [railway_bin, "logs", "--json", "-n", "1"]
    args += ["-s", service] if service else []
    args += ["-e", environment] if environment else []
    try:
        proc = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
    except (FileNotFoundError, PermissionError):
        raise SourceError(
            f"railway CLI not found: {railway_bin!r} is not on PATH (install @railway/cli or set STREAMFIX_RAILWAY_BIN)"
        ) from None
    _, err = await proc.communicate()
    if proc.returncode:
        lines = err.decode("utf-8", "replace").strip().splitlines()
        raise SourceError(f"railway CLI failed (exit {proc.returncode}): {lines[-1] if lines else 'no message'}")


@dataclass(slots=True)
class RunResult:
    lines: int
    returncode: int
    stderr: str


async def _reap(proc: asyncio.subprocess.Process, stdout: asyncio.StreamReader,
                stderr_task: asyncio.Task[bytes]) -> tuple[int, str]:
    """Read both pipes to their end and wait for the exit (killing after 10 s), so nothing is left open."""
    try:
        async with asyncio.timeout(10):
            while await stdout.read(_READ_SIZE):
                pass
            returncode = await proc.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        returncode = await proc.wait()
        while await stdout.read(_READ_SIZE):
            pass
    return returncode, (await stderr_task).decode("utf-8", "replace")


class RailwayWatcher:
    """Watches one service. ``await watcher.run()`` until cancelled or a fatal CLI error."""

    def __init__(
        self,
        pipeline: BatchPipeline,
        *,
        railway_bin: str = "railway",
        service: str | None = None,
        environment: str | None = None,
        cursor: Cursor | None = None,
        interval: float | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.bin = railway_bin
        self.service = service
        self.environment = environment
        self.interval = interval
        self.key = f"railway:{service or '-'}@{environment or '-'}"
        self.dedupe = Deduper(cursor)
        self.backoff = backoff or Backoff()
        self.runs = 0
        self.lines_seen = 0
        self.accepted = 0
        self._labels_cache: dict[tuple[str, str], tuple[str, dict[str, str]]] = {}

    def _base_args(self) -> list[str]:
        args = [self.bin, "logs", "--json"]
        if self.service:
            args += ["-s", self.service]
        if self.environment:
            args += ["-e", self.environment]
        return args

    async def run(self) -> None:
        while True:
            if self.interval is not None:
                await self._poll_once()
                await asyncio.sleep(self.interval)
                continue
            if self.dedupe.cursor.ts_ns:
                await self._history()
            result = self._checked(await self._spawn([], gap_fill=True))
            metrics.SOURCE_RESTARTS.labels("railway").inc()
            if result.lines:
                self.backoff.reset()
                log.info("railway CLI exited; respawning", extra={"service": self.service, "lines": result.lines})
                continue
            delay = self.backoff.next_delay()
            log.warning(
                "railway CLI exited without logs; retrying",
                extra={"service": self.service, "returncode": result.returncode, "delay_s": delay},
            )
            await asyncio.sleep(delay)

    async def _history(self, until: str | None = None) -> None:
        """``--since <cursor> [--until T]``, repeated while runs bring many new lines."""
        while True:
            before = self.accepted
            extra = ["--since", self.dedupe.cursor.ts_text] + (["--until", until] if until else [])
            self._checked(await self._spawn(extra))
            if self.accepted - before < HISTORY_REPEAT_AT:
                return

    async def _poll_once(self) -> None:
        if self.dedupe.cursor.ts_text:
            await self._history()
            return
        since = format_ts_ns(time.time_ns() - int((self.interval or 60) * 1e9))
        self._checked(await self._spawn(["--since", since]))

    def _checked(self, result: RunResult) -> RunResult:
        if result.returncode != 0 and not result.lines and (_FATAL.search(result.stderr) or not self.lines_seen):
            message = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {result.returncode}"
            raise SourceError(f"railway CLI failed (exit {result.returncode}): {message}")
        return result

    async def _spawn(self, extra: list[str], *, gap_fill: bool = False) -> RunResult:
        args = self._base_args() + extra
        self.runs += 1
        try:
            proc = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError:
            raise SourceError(
                f"railway CLI not found: {self.bin!r} is not on PATH (install @railway/cli or set STREAMFIX_RAILWAY_BIN)"
            ) from None
        except PermissionError as exc:
            raise SourceError(f"railway CLI {self.bin!r} cannot be run: {exc}") from None
        assert proc.stdout is not None
        assert proc.stderr is not None
        stderr_task = asyncio.create_task(proc.stderr.read())
        try:
            lines = await self._consume(proc.stdout, gap_fill=gap_fill)
        finally:
            if proc.returncode is None and not proc.stdout.at_eof():
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
            reaped = asyncio.ensure_future(_reap(proc, proc.stdout, stderr_task))
            try:
                await asyncio.shield(reaped)
            except asyncio.CancelledError:
                await reaped  # the process and its pipes are closed before the cancellation goes on
                raise
        returncode, stderr = reaped.result()
        return RunResult(lines, returncode, stderr)

    async def _consume(self, stdout: asyncio.StreamReader, *, gap_fill: bool) -> int:
        pending = b""
        count = 0
        first = gap_fill
        while True:
            chunk = await stdout.read(_READ_SIZE)
            if not chunk:
                break
            data = pending + chunk
            parts = data.split(b"\n")
            pending = parts.pop()
            if first and parts:
                first = False
                await self._fill_gap(parts[0])
            count += len(parts)
            if self._handle(parts):
                await self.pipeline.flush()
        if pending.strip():
            count += 1
            if self._handle([pending]):
                await self.pipeline.flush()
        return count

    async def _fill_gap(self, first_raw: bytes) -> None:
        cursor = self.dedupe.cursor
        first = parse_railway_line(first_raw)
        if not cursor.ts_ns or first is None or first.ts_ns <= cursor.ts_ns:
            return
        log.debug("filling gap before stream", extra={"since": cursor.ts_text, "until": first.ts_text})
        await self._history(until=first.ts_text)

    def _handle(self, raws: list[bytes]) -> bool:
        """Dedupe and buffer lines; True when the pipeline wants a flush."""
        full = False
        dedupe, pipeline, streams = self.dedupe, self.pipeline, self._labels_cache
        seen = accepted = 0
        for raw in raws:
            if not raw or raw.isspace():
                continue
            text = raw.decode("utf-8", "replace")
            if text[-1] == "\r":
                text = text[:-1]
            seen += 1
            parsed = parse_railway_line(text)
            if parsed is None:
                stream, labels = self._stream("-", "-")
                full = pipeline.add(stream, labels, text, dedupe.cursor.ts_ns or time.time_ns()) or full
                continue
            ts_ns, ts_text, message, deployment, replica = parsed
            if not dedupe.accept(ts_ns, line_hash(message, deployment, replica), ts_text):
                continue
            cached = streams.get((deployment, replica)) or self._stream(deployment, replica)
            full = pipeline.add(cached[0], cached[1], text, ts_ns) or full
            accepted += 1
        self.lines_seen += seen
        self.accepted += accepted
        pipeline.set_cursor(self.key, dedupe.cursor)
        return full

    def _stream(self, deployment: str, replica: str) -> tuple[str, dict[str, str]]:
        cached = self._labels_cache.get((deployment, replica))
        if cached is None:
            service = self.service or "-"
            labels = {"service": service, "deployment": deployment, "replica": replica, CURSOR_LABEL: self.key}
            if self.environment:
                labels["environment"] = self.environment
            cached = (f"railway/{service}/{deployment}/{replica}", labels)
            self._labels_cache[(deployment, replica)] = cached
        return cached
