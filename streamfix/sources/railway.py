"""Railway source: ``railway logs --json`` per service, streamed under a pseudo-terminal and made complete
with history windows.

Each :class:`RailwayWatcher` watches one service:

* **Streaming** (default): the CLI runs under a pseudo-terminal, so it streams (on a pipe the real CLI
  prints its last 500 lines and exits). Lines are published as they arrive. The stream skips every
  line whose timestamp is not later than the previous one and loses what is logged while it
  reconnects, so every ``verify_every`` seconds after new lines the streamed time range is read again
  as history, in windows planned to hold fewer lines than the CLI's cap; lines the stream skipped are
  published then.
* **Polling** (``interval``): once per interval, one history window from the last complete point to now.
* A history window that returns the cap (``-n``, default 500) is split around the lines it returned
  (:func:`streamfix.core.railway_history.split_window`), whichever end the server kept.
* Duplicates are recognised by ``(timestamp, message, attributes)`` with counts
  (:class:`~streamfix.core.railway_history.Ledger`), saved with the cursor on
  ``<prefix>.source-cursors`` after the broker acknowledged the lines, and found again on the raw
  topic after a hard kill (:func:`line_digests`).
* Every CLI start goes through the process's :class:`~streamfix.sources.railway_cli.SpawnLimiter`.

Lines are published unchanged (format ``railway``), keyed ``railway/<service>`` or, when the app logs
a deployment or replica attribute, ``railway/<service>/<deployment>/<replica>``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from streamfix.core.cursor import Backoff, Cursor, format_ts_ns
from streamfix.core.railway_history import (
    Ledger,
    LogLine,
    Tally,
    Window,
    parse_line,
    plan_windows,
    split_window,
)
from streamfix.errors import SourceError, WireError
from streamfix.kafka.wire import RawBatch
from streamfix.runtime import metrics
from streamfix.runtime.settings import Settings
from streamfix.sources.base import CURSOR_LABEL, BatchPipeline, count_dropped
from streamfix.sources.cursors import read_back
from streamfix.sources.railway_cli import RunResult, SpawnLimiter, collect, resolve_command, run_cli

__all__ = ["Plan", "RailwayOptions", "RailwayWatcher", "SpawnLimiter", "prepare", "recover_counts",
           "services_from_status"]

log = logging.getLogger(__name__)

FATAL_WORDS = ("unauthori", "login", "railway link", "not found", "invalid", "no linked", "no service",
               "must be before", "unexpected argument", "no deployments", "forbidden", "token")


WIDEN = 10  # a window too dense to narrow is asked once more with --lines page_lines * WIDEN


def is_fatal(message: str) -> bool:
    low = message.lower()
    return any(word in low for word in FATAL_WORDS)


@dataclass(slots=True)
class RailwayOptions:
    interval: float | None = None  # poll every N seconds instead of streaming
    page_lines: int = 500  # -n for history windows: the cap a window can return
    verify_every: float = 10.0  # streaming: history check of streamed lines, and the idle respawn gap
    overlap_ms: float = 1.0  # windows reach this far past their boundaries
    max_tracked: int = 10_000  # timestamps kept in the ledger (and the cursor, ~40 bytes each) before
    # streamed lines are left to history, so a cursor record stays far below Kafka's 1 MB message limit
    since_ns: int = 0  # without a cursor, start here (0: the current deployment's whole log)


class _LedgerCursor(Cursor):
    """The cursor handed to the pipeline: a snapshot of the ledger taken when the pipeline flushes."""

    __slots__ = ("ledger",)

    def __init__(self, ledger: Ledger) -> None:
        super().__init__()
        self.ledger = ledger

    def copy(self) -> Cursor:
        return self.ledger.to_cursor()


@dataclass(slots=True)
class _Seen:
    line: LogLine
    raw: str
    copies: int
    order: int


@dataclass(slots=True)
class WatcherStats:
    spawns: int = 0
    stream_lines: int = 0
    history_lines: int = 0
    published: int = 0
    windows: int = 0
    capped: int = 0


class RailwayWatcher:
    """Watches one service. ``await watcher.run()`` until cancelled or a fatal CLI error."""

    def __init__(
        self,
        pipeline: BatchPipeline,
        *,
        command: Sequence[str] = ("railway",),
        service: str | None = None,
        environment: str | None = None,
        options: RailwayOptions | None = None,
        limiter: SpawnLimiter | None = None,
        ledger: Ledger | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.command = list(command)
        self.service = service
        self.environment = environment
        self.options = options or RailwayOptions()
        self.limiter = limiter or SpawnLimiter()
        self.overlap_ns = int(self.options.overlap_ms * 1_000_000)
        self.ledger = ledger
        self.backoff = backoff or Backoff(initial=1.0, maximum=60.0)
        self.key = f"railway:{service or '-'}@{environment or '-'}"
        self.stats = WatcherStats()
        self._cursor = _LedgerCursor(ledger or Ledger(self.overlap_ns))
        self._streams: dict[tuple[str, str], tuple[str, dict[str, str]]] = {}
        self._streamed: Counter[int] = Counter()  # streamed lines per timestamp, not yet checked by history
        self._newest_streamed = 0
        self._new_lines = asyncio.Event()
        self._open_check = False
        self._ok_runs = 0

    # ------------------------------------------------------------------ running the CLI

    def _args(self, extra: Sequence[str]) -> list[str]:
        args = [*self.command, "logs", "--json"]
        if self.service:
            args += ["--service", self.service]
        if self.environment:
            args += ["--environment", self.environment]
        return args + list(extra)

    async def _history(self, extra: Sequence[str]) -> list[str]:
        """One history run; transient failures are retried with backoff, fatal ones raise."""
        while True:
            await self.limiter.acquire()
            self.stats.spawns += 1
            result, out = await collect(self._args(extra))
            if result.returncode == 0:
                self._ok_runs += 1
                self.backoff.reset()
                self.stats.history_lines += len(out)
                return out
            await self._failed(result)

    async def _failed(self, result: RunResult) -> None:
        message = result.error
        if is_fatal(message):
            raise SourceError(f"railway CLI failed (exit {result.returncode}): {message}")
        delay = max(self.backoff.next_delay(), self.options.interval or 0.0)
        log.warning("railway CLI failed; retrying",
                    extra={"service": self.service, "error": message, "delay_s": delay})
        await asyncio.sleep(delay)

    # ------------------------------------------------------------------ publishing

    def _stream_of(self, line: LogLine) -> tuple[str, dict[str, str]]:
        cached = self._streams.get((line.deployment, line.replica))
        if cached is None:
            service = self.service or "-"
            labels = {"service": service, CURSOR_LABEL: self.key}
            if self.environment:
                labels["environment"] = self.environment
            name = f"railway/{service}"
            if line.deployment or line.replica:
                labels["deployment"] = line.deployment or "-"
                labels["replica"] = line.replica or "-"
                name += f"/{labels['deployment']}/{labels['replica']}"
            cached = self._streams[(line.deployment, line.replica)] = (name, labels)
        return cached

    async def _publish(self, line: LogLine, raw: str, first: int, last: int) -> None:
        """Publish copies ``first..last`` of a line, recording each in the ledger as it is buffered."""
        ledger = self._ledger
        name, labels = self._stream_of(line)
        for copy in range(first, last + 1):
            full = self.pipeline.add(name, labels, raw, line.ts_ns)
            ledger.record(line.ts_ns, line.digest, copy)
            self.stats.published += 1
            if full:
                await self.pipeline.flush()
        self.pipeline.set_cursor(self.key, self._cursor)

    def resume(self, cursor: Cursor | None, published: Counter[tuple[int, str]] | None = None) -> None:
        """Continue from a saved cursor (None: none was saved), adding the copies in ``published``
        (lines found on the raw topic after it)."""
        if cursor is not None:
            ledger = Ledger.from_cursor(cursor, self.overlap_ns)
        else:
            since = self.options.since_ns
            ledger = Ledger(self.overlap_ns, max(1, since + self.overlap_ns) if since else 1)
        for (ts_ns, digest), copies in (published or Counter()).items():
            if ts_ns >= ledger.floor():
                ledger.record(ts_ns, digest, ledger.published(ts_ns, digest) + copies)
        self._set_ledger(ledger)

    @property
    def _ledger(self) -> Ledger:
        assert self.ledger is not None
        return self.ledger

    def _set_ledger(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._cursor.ledger = ledger

    # ------------------------------------------------------------------ main loops

    async def run(self) -> None:
        if self.ledger is None:
            self._fresh_start()
        if self.options.interval is not None:
            await self._poll_loop(self.options.interval)
        else:
            self._open_check = True  # catch up from the cursor (or the start) with history first
            self._new_lines.set()
            async with asyncio.TaskGroup() as group:
                group.create_task(self._verify_loop(), name=f"{self.key}-verify")
                group.create_task(self._stream_loop(), name=f"{self.key}-stream")

    def _fresh_start(self) -> None:
        """No cursor yet: everything the CLI has from ``options.since_ns`` on (0: the deployment's whole log)."""
        since = self.options.since_ns
        self._set_ledger(Ledger(self.overlap_ns, max(1, since + self.overlap_ns) if since else 1))
        self.pipeline.set_cursor(self.key, self._cursor)
        log.info("railway watcher starting without a cursor",
                 extra={"service": self.service, "since": format_ts_ns(since) if since else "start of the log"})

    async def _poll_loop(self, interval: float) -> None:
        while True:
            started = time.monotonic()
            await self._cycle([Window(self._ledger.floor())], None)
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    async def _stream_loop(self) -> None:
        tally = Tally()
        fresh = [0]  # lines of this session newer than everything streamed before

        async def sink(lines: list[str]) -> None:
            ledger = self._ledger
            for raw in lines:
                line = parse_line(raw)
                if line is None:
                    log.debug("not a JSON log line", extra={"service": self.service, "line": raw[:200]})
                    continue
                self.stats.stream_lines += 1
                copy = tally.see(line.ts_ns, line.digest)
                if line.ts_ns < ledger.floor():
                    continue
                self._streamed[line.ts_ns] += 1
                if line.ts_ns > self._newest_streamed:
                    self._newest_streamed = line.ts_ns
                    self._new_lines.set()
                    fresh[0] += 1
                if ledger.wanted(line.ts_ns, line.digest, copy) and len(ledger.counts) < self.options.max_tracked:
                    await self._publish(line, raw, ledger.published(line.ts_ns, line.digest) + 1, copy)
            tally.prune(ledger.floor())

        while True:
            await self.limiter.acquire()
            self.stats.spawns += 1
            metrics.SOURCE_RESTARTS.labels("railway").inc()
            fresh[0] = 0
            result = await run_cli(self._args([]), sink, tty_out=True)
            tally = Tally()
            if fresh[0] and result.returncode == 0:
                self._ok_runs += 1
                self.backoff.reset()
                log.info("railway stream ended; reconnecting", extra={"service": self.service, "lines": result.lines})
                continue
            if result.returncode != 0:
                await self._failed(result)
                continue
            # an idle stream (it ended with nothing new, e.g. after re-sending old lines) is restarted
            # after verify_every seconds at the earliest
            delay = max(self.options.verify_every, self.backoff.next_delay())
            log.info("railway stream ended without new lines", extra={"service": self.service, "delay_s": delay})
            self._open_check = True  # and history is read up to now, in case the stream cannot deliver it
            self._new_lines.set()
            await asyncio.sleep(delay)

    async def _verify_loop(self) -> None:
        last = 0.0
        while True:
            await self._new_lines.wait()
            await asyncio.sleep(max(0.0, last + self.options.verify_every - time.monotonic()))
            self._new_lines.clear()
            last = time.monotonic()
            until = self._newest_streamed
            ledger = self._ledger
            since = ledger.floor()
            if self._open_check:
                self._open_check = False
                await self._cycle([Window(since)], None)
                continue
            if until <= since:
                continue
            target = max(1, int(self.options.page_lines * 0.8))
            # up to just past the newest streamed line, so lines at its timestamp that the stream
            # skipped are read whether --until is inclusive or not
            windows = plan_windows(since, until + self.overlap_ns, self._streamed, target)
            await self._cycle(windows, until)
            for ts in [t for t in self._streamed if t < ledger.floor()]:
                del self._streamed[ts]

    # ------------------------------------------------------------------ history windows

    def _observe(self, raws: list[str], seen: dict[tuple[int, str], _Seen], tally: Tally) -> dict[tuple[int, str], _Seen]:
        floor = self._ledger.floor()
        for raw in raws:
            line = parse_line(raw)
            if line is None:
                log.debug("not a JSON log line", extra={"service": self.service, "line": raw[:200]})
                continue
            copy = tally.see(line.ts_ns, line.digest)
            if line.ts_ns < floor:
                continue
            key = (line.ts_ns, line.digest)
            entry = seen.get(key)
            if entry is None:
                seen[key] = _Seen(line, raw, copy, len(seen))
            elif copy > entry.copies:
                entry.copies = copy
        return seen

    async def _publish_seen(self, seen: dict[tuple[int, str], _Seen]) -> None:
        ledger = self._ledger
        for entry in sorted(seen.values(), key=lambda s: (s.line.ts_ns, s.order)):
            published = ledger.published(entry.line.ts_ns, entry.line.digest)
            if entry.copies > published and entry.line.ts_ns >= ledger.floor():
                await self._publish(entry.line, entry.raw, published + 1, entry.copies)
        self.pipeline.set_cursor(self.key, self._cursor)

    async def _cycle(self, windows: list[Window], until_ns: int | None) -> None:
        """Fetch ``windows`` (splitting capped ones) and publish what is new, oldest first; then the
        range up to ``until_ns`` (or, for an open window, up to the newest line returned) is complete."""
        page = self.options.page_lines
        stack = [(w, page) for w in reversed(windows) if w.until_ns is None or w.until_ns > w.since_ns]
        seen: dict[tuple[int, str], _Seen] = {}
        newest = 0
        while stack:
            window, cap = stack.pop()
            raws = await self._history([*window.args(), "--lines", str(cap)])
            self.stats.windows += 1
            tally = Tally()
            before = len(seen)
            self._observe(raws, seen, tally)
            stamps = [ts for ts, _ in tally.counts]
            if stamps:
                newest = max(newest, max(stamps))
            if len(raws) >= cap and stamps:
                self.stats.capped += 1
                children = split_window(window, min(stamps), max(stamps), self.overlap_ns)
                children = [w for w in children if w.until_ns is None or w.until_ns > w.since_ns]
                if children:
                    stack.extend((w, page) for w in reversed(children))
                elif cap < page * WIDEN:
                    stack.append((window, cap * WIDEN))  # too dense to narrow: ask for more lines at once
                else:
                    count_dropped("railway", "window_full", 1,
                                  f"more than {cap} lines within {2 * self.overlap_ns} ns at {format_ts_ns(min(stamps))}")
            log.debug("history window", extra={"service": self.service, "args": window.args(), "lines": len(raws),
                                               "new": len(seen) - before})
            if stack and len(raws) < cap:
                # everything before the first window still to fetch is complete: publish and move on, so
                # the ledger (saved with the cursor) stays small during a long catch-up
                await self._publish_seen(seen)
                seen = {}
                self._ledger.advance(min(w.since_ns for w, _ in stack))
                self.pipeline.set_cursor(self.key, self._cursor)
        await self._publish_seen(seen)
        complete = until_ns if until_ns is not None else newest
        ledger = self._ledger
        if complete:
            ledger.advance(complete)
            self.pipeline.set_cursor(self.key, self._cursor)


# ---------------------------------------------------------------- after a hard kill

async def recover_counts(settings: Settings, cursors: dict[str, Cursor | None]) -> dict[str, Counter[tuple[int, str]]]:
    """Copies of each line published after each watcher's cursor was written (a hard kill).

    Reads every raw partition from just after the lowest offset stored with these cursors (the last
    :data:`~streamfix.sources.cursors.TAIL_RECORDS` records where a cursor has none) to its end, and
    counts, per cursor key, the lines of batches labelled with that key that lie after the offset
    stored with that key's cursor -- so two copies of one line in two batches count as two.
    """
    out: dict[str, Counter[tuple[int, str]]] = {key: Counter() for key in cursors}
    await read_back(settings, cursors, lambda value, partition, offset: _count(
        value, partition, offset, cursors, out))
    for key, counts in out.items():
        if counts:
            log.warning("lines published after the last cursor were found; they will not be sent again",
                        extra={"lines": sum(counts.values()), "key": key})
    return out


def carry_offsets(pipeline: BatchPipeline, cursors: Sequence[Cursor]) -> None:
    """Start the pipeline's acknowledged offsets from the saved cursors', so the first cursors this run
    writes still name every partition the previous run published to (what :func:`recover_counts` needs
    to count only what a cursor does not)."""
    offsets: dict[int, int] = pipeline._offsets
    for cursor in cursors:
        for partition, offset in cursor.offsets.items():
            offsets[partition] = max(offset, offsets.get(partition, -1))


def _count(value: bytes, partition: int, offset: int, cursors: dict[str, Cursor | None],
           out: dict[str, Counter[tuple[int, str]]]) -> None:
    try:
        batch = RawBatch.loads(value)
    except WireError:
        return
    key = batch.labels.get(CURSOR_LABEL, "")
    if key not in out:
        return
    cursor = cursors[key]
    stored = cursor.offsets.get(partition) if cursor else None
    if stored is not None and offset <= stored:
        return  # already counted in that cursor
    for line in batch.lines:
        parsed = parse_line(line)
        if parsed is not None:
            out[key][(parsed.ts_ns, parsed.digest)] += 1


# ---------------------------------------------------------------- setting up

@dataclass(slots=True)
class Plan:
    command: list[str]
    services: list[str | None] = field(default_factory=list)


async def _run_collect(argv: list[str], limiter: SpawnLimiter) -> tuple[RunResult, list[str]]:
    await limiter.acquire()
    return await collect(argv)


def services_from_status(text: str, environment: str | None = None) -> list[str]:
    """Service names in ``railway status --json`` (a project: ``services.edges[].node.name``; with an
    environment, only the services that have an instance in it)."""
    try:
        project = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise SourceError(f"railway status --json printed no JSON: {exc}") from None
    if not isinstance(project, dict):
        raise SourceError("railway status --json printed no project")
    names = [edge["node"]["name"] for edge in (project.get("services") or {}).get("edges", [])
             if isinstance(edge, dict) and isinstance(edge.get("node"), dict) and edge["node"].get("name")]
    if environment:
        for env in (project.get("environments") or {}).get("edges", []):
            node = env.get("node") or {}
            if environment in (node.get("name"), node.get("id")):
                instances = {(i.get("node") or {}).get("serviceName")
                             for i in (node.get("serviceInstances") or {}).get("edges", [])}
                if instances - {None}:
                    names = [n for n in names if n in instances]
    return names


async def prepare(railway_bin: str, services: Sequence[str], environment: str | None,
                  limiter: SpawnLimiter) -> Plan:
    """Find the CLI (or npx), the services to watch (all of the linked project's without ``services``),
    and check each with ``railway logs --json --lines 1`` so a login or link problem fails now, in one line."""
    command = resolve_command(railway_bin)
    names: list[str | None] = list(services)
    if not names:
        argv = [*command, "status", "--json"] + (["--environment", environment] if environment else [])
        result, out = await _run_collect(argv, limiter)
        found: list[str] = []
        if result.returncode != 0:
            if any(w in result.error.lower() for w in ("unauthori", "login", "link", "token", "forbidden")):
                raise SourceError(f"railway CLI failed (exit {result.returncode}): {result.error}")
            log.warning("cannot list the project's services; watching the linked one", extra={"error": result.error})
        else:
            try:
                found = services_from_status("\n".join(out), environment)
            except SourceError as exc:
                log.warning("cannot list the project's services; watching the linked one", extra={"error": str(exc)})
        names = list(found) if found else [None]
        log.info("railway services discovered", extra={"services": found})
    checked: list[str | None] = []
    first_error = ""
    for service in names:
        argv = [*command, "logs", "--json", "--lines", "1"]
        argv += ["--service", service] if service else []
        argv += ["--environment", environment] if environment else []
        result, _ = await _run_collect(argv, limiter)
        if result.returncode == 0:
            checked.append(service)
            continue
        error = f"railway CLI failed (exit {result.returncode}): {result.error}"
        low = result.error.lower()
        if services or any(w in low for w in ("unauthori", "login", "link", "token", "forbidden")):
            raise SourceError(error)
        log.warning("service skipped: its logs cannot be read", extra={"service": service, "error": result.error})
        first_error = first_error or error
    if not checked:
        raise SourceError(first_error or "no Railway service to watch")
    return Plan(command, checked)
