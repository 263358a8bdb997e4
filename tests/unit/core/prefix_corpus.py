"""A corpus of genuine tracebacks written in each platform's per-line prefix style, and how to score it.

The tracebacks are the stderr of the failing programs in ``tracebacks/`` (real CPython, Node.js and Java
runs). Each style renders the same stderr the way its platform prints it, with several replicas of the
service interleaved line by line and ordinary traffic between errors (some of it mentions "error"
without being one). :func:`score` runs the error path over a rendered stream and compares the events
with what was written: recall, false events, and type/file/line/function/category accuracy.

Used by ``tests/unit/core/test_prefix.py`` and ``benchmarks/bench_prefixes.py``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from streamfix.core.pipeline import run_batch
from tests.unit.core.tracebacks import PROGRAMS, Program

NOISE: tuple[str, ...] = (
    'INFO:     10.0.{a}.{b}:5{b}0 - "GET /health HTTP/1.1" 200 OK',
    "2026-11-28 12:00:0{a},{b}00 INFO app.api: GET /api/orders/{b} 200 in {a}ms",
    "worker heartbeat ok (errors=0, retries={a})",
    "cache miss for key user:{b}",
    "2026-11-28 12:00:0{a},{b}00 INFO app.jobs: retrying /errors/{b} after a timeout (attempt {a})",
    "2026-11-28 12:00:0{a},{b}00 WARNING app.api: slow query took {b}ms",
    "GET /static/app.{b}.js 304",
    "",
)


@dataclass(frozen=True)
class Replica:
    name: str  # the source tag the style writes
    pid: int
    host: str


@dataclass(frozen=True)
class Line:
    replica: int
    text: str
    event: int | None  # which written traceback the line belongs to
    is_stderr: bool


@dataclass
class Expected:
    program: Program
    replica: int


@dataclass
class Score:
    style: str
    expected: int = 0
    found: int = 0
    recalled: int = 0
    false_events: int = 0
    right: dict[str, int] = field(default_factory=lambda: {"type": 0, "file": 0, "line": 0, "function": 0,
                                                           "category": 0})
    wrong: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.recalled / self.expected if self.expected else 1.0

    @property
    def false_rate(self) -> float:
        return self.false_events / self.expected if self.expected else 0.0

    def accuracy(self, name: str) -> float:
        return self.right[name] / self.recalled if self.recalled else 0.0


Renderer = Callable[[Replica, str, datetime, bool], str]


def _iso(ts: datetime, digits: int = 9) -> str:
    micro = f"{ts.microsecond:06d}"
    frac = (micro + "000")[:digits]
    return ts.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if digits else "") + "Z"


def _compose(r: Replica, text: str, ts: datetime, err: bool) -> str:
    return f"{r.name:<9}| {text}"


def _compose_ts(r: Replica, text: str, ts: datetime, err: bool) -> str:
    return f"{r.name:<9}| {_iso(ts)} {text}"


def _kubectl(r: Replica, text: str, ts: datetime, err: bool) -> str:
    return f"[pod/{r.name}/api] {_iso(ts)} {text}"


def _journald(r: Replica, text: str, ts: datetime, err: bool) -> str:
    return f"{ts.strftime('%b %d %H:%M:%S')} {r.host} api[{r.pid}]: {text}"


def _journald_iso(r: Replica, text: str, ts: datetime, err: bool) -> str:
    return f"{ts.strftime('%Y-%m-%dT%H:%M:%S')}+0000 {r.host} api[{r.pid}]: {text}"


def _syslog3164(r: Replica, text: str, ts: datetime, err: bool) -> str:
    return f"<{11 if err else 14}>{ts.strftime('%b %d %H:%M:%S')} {r.host} api[{r.pid}]: {text}"


def _syslog5424(r: Replica, text: str, ts: datetime, err: bool) -> str:
    return f"<{11 if err else 14}>1 {_iso(ts, 3)} {r.host} api {r.pid} - - {text}"


def _heroku(r: Replica, text: str, ts: datetime, err: bool) -> str:
    return f"{ts.strftime('%Y-%m-%dT%H:%M:%S')}.{ts.microsecond:06d}+00:00 app[{r.name}]: {text}"


def _ts_replica(r: Replica, text: str, ts: datetime, err: bool) -> str:
    return f"{_iso(ts, 3)} {r.name} {text}"


def _docker_ts(r: Replica, text: str, ts: datetime, err: bool) -> str:
    return f"{_iso(ts)} {text}"


def _railway_json(r: Replica, text: str, ts: datetime, err: bool) -> str:
    record = {"message": text, "timestamp": _iso(ts, 6), "level": "error" if err else "info", "replica": r.name}
    return orjson.dumps(record).decode()


def _compose_json(r: Replica, text: str, ts: datetime, err: bool) -> str:
    return f"{r.name:<9}| " + _railway_json(r, text, ts, err)


def _kubectl_json(r: Replica, text: str, ts: datetime, err: bool) -> str:
    return f"[pod/{r.name}/api] {_iso(ts)} " + _railway_json(r, text, ts, err)


# style -> (renderer, replica names, interleaved)
STYLES: dict[str, tuple[Renderer, tuple[str, ...], bool]] = {
    "compose": (_compose, ("api-1", "api-2", "worker-1"), True),
    "compose-ts": (_compose_ts, ("api-1", "api-2", "worker-1"), True),
    "kubectl": (_kubectl, ("api-7d9f8-x2k4p", "api-7d9f8-q9w1z", "api-7d9f8-mm3ls"), True),
    "journald": (_journald, ("a", "b", "c"), True),
    "journald-iso": (_journald_iso, ("a", "b", "c"), True),
    "syslog-3164": (_syslog3164, ("a", "b", "c"), True),
    "syslog-5424": (_syslog5424, ("a", "b", "c"), True),
    "heroku": (_heroku, ("web.1", "web.2", "worker.1"), True),
    "ts-replica": (_ts_replica, ("7f3a9c2e", "b41d07aa", "c9e2f310"), True),
    "ts-replica-word": (_ts_replica, ("web", "worker", "api"), True),
    "docker-ts": (_docker_ts, ("c0",), False),
    "railway-json": (_railway_json, ("r1", "r2", "r3"), True),
    "compose-json": (_compose_json, ("api-1", "api-2", "worker-1"), True),
    "kubectl-json": (_kubectl_json, ("api-7d9f8-x2k4p", "api-7d9f8-q9w1z", "api-7d9f8-mm3ls"), True),
}


def genuine_stderr(programs: Sequence[Program] = PROGRAMS) -> list[tuple[Program, str]]:
    """Run every available program once; its stderr is the genuine traceback."""
    return [(p, p.run()) for p in programs if p.available]


def build(style: str, stderr: Sequence[tuple[Program, str]], *, events_per_replica: int, seed: int = 7
          ) -> tuple[list[str], list[Expected], list[int | None]]:
    """Render a stream in ``style``: the raw lines, the written events, and each line's event."""
    renderer, names, interleaved = STYLES[style]
    rng = random.Random(seed)
    replicas = [Replica(name, 1000 + 17 * n, f"ip-10-0-0-{n + 1}") for n, name in enumerate(names)]
    expected: list[Expected] = []
    queues: list[list[Line]] = []
    for number in range(len(replicas)):
        queue: list[Line] = []
        for _ in range(events_per_replica):
            for _ in range(rng.randint(0, 4)):
                noise = rng.choice(NOISE).format(a=rng.randint(1, 9), b=rng.randint(10, 99))
                queue.append(Line(number, noise, None, False))
            program, text = rng.choice(stderr)
            expected.append(Expected(program, number))
            queue.extend(Line(number, t, len(expected) - 1, True) for t in text.splitlines())
        queue.append(Line(number, "shutting down", None, False))
        queues.append(queue)
    merged: list[Line] = []
    if interleaved:
        positions = [0] * len(queues)
        while any(p < len(q) for p, q in zip(positions, queues, strict=True)):
            live = [n for n, q in enumerate(queues) if positions[n] < len(q)]
            n = rng.choice(live)
            merged.append(queues[n][positions[n]])
            positions[n] += 1
    else:
        merged = [line for queue in queues for line in queue]
    start = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    raw = [renderer(replicas[line.replica], line.text, start + timedelta(milliseconds=3 * n), line.is_stderr)
           for n, line in enumerate(merged)]
    return raw, expected, [line.event for line in merged]


def score(style: str, raw: Sequence[str], expected: Sequence[Expected], owners: Sequence[int | None],
          *, batch: int = 2000) -> Score:
    """Run the error path over ``raw`` in batches and compare the events with ``expected``."""
    result = Score(style, expected=len(expected))
    state = None
    events = []
    for start in range(0, len(raw) + 1, batch):
        chunk = list(raw[start:start + batch])
        out = run_batch(chunk, state, final=not chunk or start + batch > len(raw))
        state = out.state
        events.extend(out.events)
    result.found = len(events)
    seen: set[int] = set()
    for event in events:
        owner = owners[event.line_start]
        if owner is None or owner in seen or owners[event.line_end] not in (owner, None):
            result.false_events += 1
            result.wrong.append(f"false: lines {event.line_start}-{event.line_end} {event.error_type}")
            continue
        seen.add(owner)
        result.recalled += 1
        program = expected[owner].program
        got = {"type": event.error_type, "file": event.file, "line": event.line, "function": event.function,
               "category": event.category.value}
        want = {"type": program.error_type, "file": program.file, "line": program.line, "function": program.function,
                "category": program.category}
        for name in result.right:
            if got[name] == want[name]:
                result.right[name] += 1
        if got != want:
            result.wrong.append(f"fields of {program.name}: {got} != {want}")
    missed = [expected[n].program.name for n in range(len(expected)) if n not in seen]
    result.wrong.extend(f"missed: {name}" for name in missed)
    return result
