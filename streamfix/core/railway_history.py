"""What the Railway watcher decides without doing I/O: line identity, the publish ledger, history windows
and the CLI's error message. Plain functions and small classes, tested without an event loop.

* :func:`parse_line` reads one ``railway logs --json`` line: ``timestamp``, ``message`` and the app's
  attributes flattened at the top level in random key order. Its identity (:attr:`LogLine.digest`) is
  the message plus the attributes in sorted order, so the same line printed by two runs hashes the same.
* :class:`Ledger` remembers how many copies of each ``(timestamp, digest)`` were published, for every
  timestamp from ``complete_ns - overlap_ns`` on; everything older is complete. A CLI run (one history
  window, one stream session) is an *observation*: the k-th copy of a line within one observation is
  published when fewer than k copies were published before, so a line the app printed twice at the
  same timestamp is published twice, and a line seen again by an overlapping window is not.
* :func:`split_window` plans the history windows: a window that came back with the CLI's cap may be
  missing lines at either end (the server may keep the oldest or the newest ``limit + 1`` lines, and
  the CLI keeps the last ``limit``), so it is split around the lines it returned -- ``[since, first]``
  and ``[last, until]``, each reaching ``overlap_ns`` past the boundary so that an inclusive or
  exclusive bound loses nothing -- or, when the lines sit at one end, into what is before them, their
  own span and what is after them.
* :func:`cli_error` turns the CLI's stderr into one line: the first meaningful line (backtrace frames,
  ``Caused by:`` and colour codes skipped) plus the ``→ Run `railway link` ...`` hint when there is one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from streamfix.core.cursor import Cursor, format_ts_ns, line_hash, parse_ts_ns

DEPLOYMENT_KEYS = ("deploymentId", "deployment_id", "deployment")
REPLICA_KEYS = (
    "deploymentInstanceId",
    "replica",
    "replicaId",
    "replica_id",
    "instance",
    "instanceId",
    "hostname",
)
ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|[\x00-\x08\x0b-\x1f\x7f]"
)


def strip_controls(text: str) -> str:
    """Terminal control sequences and control characters (but not tab) removed."""
    return ANSI.sub("", text)


@dataclass(frozen=True, slots=True)
class LogLine:
    ts_ns: int
    ts_text: str
    digest: str  # message + attributes, key order ignored
    deployment: str  # "" when the app logged no such attribute
    replica: str


def parse_line(raw: str | bytes) -> LogLine | None:
    """One ``--json`` line; None when it is not a JSON object with a parseable ``timestamp``."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    ts_text = obj.get("timestamp")
    if not isinstance(ts_text, str):
        return None
    try:
        ts_ns = parse_ts_ns(ts_text)
    except ValueError:
        return None
    rest = {k: v for k, v in obj.items() if k != "timestamp"}
    digest = line_hash(orjson.dumps(rest, option=orjson.OPT_SORT_KEYS).decode())
    return LogLine(ts_ns, ts_text, digest, _first(obj, DEPLOYMENT_KEYS), _first(obj, REPLICA_KEYS))


def _first(obj: dict[str, object], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = obj.get(key)
        if value is not None and value != "" and not isinstance(value, dict | list):
            return str(value)
    return ""


def occurrence_digest(digest: str, n: int) -> str:
    """The n-th copy of a line (1-based) as one entry of a set."""
    return digest if n == 1 else f"{digest}#{n}"


def split_occurrence(entry: str) -> tuple[str, int]:
    digest, _, n = entry.partition("#")
    return digest, int(n) if n.isdigit() else 1


class Tally:
    """Copies of each line within one observation (one CLI run)."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: Counter[tuple[int, str]] = Counter()

    def see(self, ts_ns: int, digest: str) -> int:
        key = (ts_ns, digest)
        self.counts[key] += 1
        return self.counts[key]

    def prune(self, floor_ns: int) -> None:
        if len(self.counts) > 4096:
            self.counts = Counter({k: v for k, v in self.counts.items() if k[0] >= floor_ns})


@dataclass(slots=True)
class Ledger:
    """Published copies per ``(timestamp, digest)`` from ``floor()`` on; lines before it are complete."""

    overlap_ns: int = 1_000_000
    complete_ns: int = 0  # every line before complete_ns - overlap_ns was published (0: none known)
    counts: dict[int, dict[str, int]] = field(default_factory=dict)

    def floor(self) -> int:
        return max(0, self.complete_ns - self.overlap_ns) if self.complete_ns else 0

    def published(self, ts_ns: int, digest: str) -> int:
        return self.counts.get(ts_ns, {}).get(digest, 0)

    def record(self, ts_ns: int, digest: str, copies: int) -> None:
        at = self.counts.setdefault(ts_ns, {})
        if copies > at.get(digest, 0):
            at[digest] = copies

    def wanted(self, ts_ns: int, digest: str, copy: int) -> bool:
        """True when the ``copy``-th copy of this line in one observation is new: publish it, then
        :meth:`record`."""
        return ts_ns >= self.floor() and copy > self.published(ts_ns, digest)

    def advance(self, complete_ns: int) -> None:
        if complete_ns <= self.complete_ns:
            return
        self.complete_ns = complete_ns
        floor = self.floor()
        for ts in [t for t in self.counts if t < floor]:
            del self.counts[ts]

    def newest(self) -> int:
        return max(self.counts, default=0)

    def entries(self) -> int:
        return sum(len(v) for v in self.counts.values())

    def to_cursor(self) -> Cursor:
        hashes = {f"{ts}:{occurrence_digest(d, n)}" for ts, at in self.counts.items() for d, n in at.items()}
        return Cursor(self.complete_ns, format_ts_ns(self.complete_ns) if self.complete_ns else "", hashes)

    @classmethod
    def from_cursor(
        cls, cursor: Cursor, overlap_ns: int, published: Iterable[tuple[int, str]] = ()
    ) -> Ledger:
        """The ledger saved in ``cursor``, plus lines found on the raw topic after it
        (``(ts, occurrence digest)``)."""
        ledger = cls(overlap_ns, cursor.ts_ns)
        for entry in cursor.hashes:
            ts, sep, rest = entry.partition(":")
            if sep and ts.isdigit():
                digest, n = split_occurrence(rest)
                ledger.record(int(ts), digest, n)
        for ts_ns, entry in published:
            digest, n = split_occurrence(entry)
            ledger.record(ts_ns, digest, n)
        return ledger


@dataclass(frozen=True, slots=True)
class Window:
    """A history request: ``--since since_ns [--until until_ns]`` (``until_ns`` None: up to now)."""

    since_ns: int
    until_ns: int | None = None

    def width(self) -> float:
        return float("inf") if self.until_ns is None else self.until_ns - self.since_ns

    def inside(self, other: Window) -> bool:
        """Strictly narrower than ``other`` and within it."""
        later = self.since_ns > other.since_ns
        earlier = self.until_ns is not None and (other.until_ns is None or self.until_ns < other.until_ns)
        within = self.since_ns >= other.since_ns and (
            other.until_ns is None or (self.until_ns is not None and self.until_ns <= other.until_ns)
        )
        return within and (later or earlier) and (self.until_ns is None or self.until_ns > self.since_ns)

    def args(self) -> list[str]:
        out = ["--since", format_ts_ns(max(0, self.since_ns))]
        if self.until_ns is not None:
            out += ["--until", format_ts_ns(self.until_ns)]
        return out


def split_window(window: Window, first_ns: int, last_ns: int, overlap_ns: int) -> list[Window]:
    """Windows to fetch after ``window`` returned the cap with lines from ``first_ns`` to ``last_ns``.

    Empty when the window cannot be narrowed (more lines than the cap within ``2 * overlap_ns``).
    The older window comes first.
    """
    since, until = window.since_ns, window.until_ns
    if window.width() <= 2 * overlap_ns + 1:
        return []
    left = Window(since, first_ns + overlap_ns if until is None else min(until, first_ns + overlap_ns))
    right = Window(max(since, last_ns - overlap_ns), until)
    if left.inside(window) and right.inside(window):
        return [left, right]
    # The returned lines sit at one end of the window: what is before them, their own span (with
    # margins, so a bound's inclusiveness does not matter) and what is after them.
    span_end = last_ns + overlap_ns if until is None else min(until, last_ns + overlap_ns)
    parts = [
        Window(since, first_ns),
        Window(max(since, first_ns - overlap_ns), span_end),
        Window(last_ns, until),
    ]
    return [w for w in parts if w.inside(window)]


def plan_windows(since_ns: int, until_ns: int, stamps: Counter[int], target: int) -> list[Window]:
    """Cover ``[since_ns, until_ns]`` with windows expected to hold at most ``target`` lines each,
    judging by ``stamps`` (lines per timestamp already seen, e.g. from the stream)."""
    windows: list[Window] = []
    start, count = since_ns, 0
    for ts in sorted(t for t in stamps if since_ns <= t <= until_ns):
        n = stamps[ts]
        if count and count + n > target and ts > start:
            windows.append(Window(start, ts))
            start, count = ts, 0
        count += n
    windows.append(Window(start, until_ns))
    return windows


_FRAME = re.compile(r"^\s*(\d+:\s|at\s\S|Stack backtrace:|stack backtrace:|Caused by:|Backtrace)")
_HINT = re.compile(r"^\s*(→|->)\s*")


def cli_error(stderr: str, returncode: int) -> str:
    """One line for the CLI's failure: its first meaningful stderr line, with its hint when it gave one."""
    lines = [strip_controls(line).rstrip() for line in stderr.splitlines()]
    message = ""
    hints: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        if _HINT.match(line):
            hints.append(_HINT.sub("", line).strip())
            continue
        if _FRAME.match(line) or line.startswith("    "):
            continue
        if not message:
            message = line.strip()
        elif "railway link" in line or "railway login" in line or "railway service" in line:
            hints.append(line.strip())
    if not message and hints:
        message, hints = hints[0], hints[1:]
    if not message:
        return f"exit status {returncode}, no message on stderr"
    extra = [h for h in hints if h and h not in message]
    return message + (f" ({'; '.join(extra)})" if extra else "")


_RELATIVE = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now_ns: int) -> int:
    """``--since`` as the CLI takes it: relative (``30s``, ``5m``, ``2h``, ``1d``, ``1w``) or RFC 3339.
    A bare number (an epoch) is rejected, as the CLI rejects it. Raises ``ValueError``."""
    value = text.strip().lower()
    if len(value) >= 2 and value[-1] in _RELATIVE and value[:-1].isdigit():
        return now_ns - int(value[:-1]) * _RELATIVE[value[-1]] * 1_000_000_000
    problem = f"invalid time {text!r}: use a relative time (30m, 2h, 1d) or RFC 3339 (2026-01-15T10:30:00Z)"
    if not re.fullmatch(r"\d{4}-\d\d-\d\d[t ]\d\d:\d\d:\d\d(\.\d+)?(z|[+-]\d\d:\d\d)", value):
        raise ValueError(problem)
    try:
        return parse_ts_ns(text.strip())
    except ValueError:
        raise ValueError(problem) from None
