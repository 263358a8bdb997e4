"""Log data for the fake ``railway`` CLI: server-side records, their release over time, and the
canonical form of a printed ``--json`` line (key order ignored) to compare what was published."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import orjson

from streamfix.core.cursor import format_ts_ns

T0 = 1_767_225_600_000_000_000


def records(
    count: int,
    *,
    start_ns: int = T0,
    step_ns: int = 400_000,
    seed: int = 1,
    dup_every: int = 97,
    same_ts_every: int = 13,
    attrs: bool = True,
) -> list[dict[str, object]]:
    """``count`` records in timestamp order: every ``same_ts_every``-th shares the previous timestamp
    (the stream skips it), every ``dup_every``-th is an exact repeat of the previous line (printed
    twice at one timestamp by the app), with attributes like an app logs them (values as the API
    sends them: strings, JSON-encoded)."""
    rng = random.Random(seed)
    out: list[dict[str, object]] = []
    ts = start_ns
    for i in range(count):
        if out and dup_every and i % dup_every == 0:
            out.append(dict(out[-1]))
            continue
        if not (out and same_ts_every and i % same_ts_every == 0):
            ts += rng.randint(1, 2 * step_ns)
        rec: dict[str, object] = {
            "timestamp": format_ts_ns(ts),
            "message": f"GET /items/{i} 200 in {i % 97}ms",
        }
        if attrs:
            rec["attributes"] = {
                "level": '"error"' if i % 50 == 0 else '"info"',
                "requestId": f'"r{i}"',
                "status": "200",
            }
        out.append(rec)
    return out


def printed(rec: dict[str, object]) -> str:
    """The canonical (sorted keys) form of the CLI's ``--json`` line for a record."""
    obj: dict[str, object] = {"message": rec.get("message", ""), "timestamp": rec["timestamp"]}
    for key, value in dict(rec.get("attributes") or {}).items():  # type: ignore[call-overload]
        trimmed = str(value).strip('"')
        try:
            obj[key] = json.loads(trimmed)
        except ValueError:
            obj[key] = trimmed
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()


def canonical(line: str) -> str:
    return orjson.dumps(orjson.loads(line), option=orjson.OPT_SORT_KEYS).decode()


def expected(recs: Iterable[dict[str, object]]) -> Counter[str]:
    return Counter(printed(r) for r in recs)


def published(lines: Iterable[str]) -> Counter[str]:
    return Counter(canonical(line) for line in lines)


def release(path: Path, recs: Iterable[dict[str, object]]) -> None:
    """Append records to the fake server's log (one write, so a reader sees whole lines or none)."""
    data = "".join(json.dumps(r) + "\n" for r in recs)
    with path.open("a") as fh:
        fh.write(data)


def spawns(argv_log: Path) -> list[dict[str, object]]:
    if not argv_log.exists():
        return []
    return [json.loads(line) for line in argv_log.read_text().splitlines() if line.strip()]


def max_per_minute(times: list[float], window: float = 60.0) -> int:
    times = sorted(times)
    best = j = 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best
