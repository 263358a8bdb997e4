"""Per-pattern (and per-category, per-service) trends for the API and the dashboard: rate, baseline,
spike score, trend, forecast and a sparkline, from the alerts agent's rate state (seasonal, learnt
over days) and the pattern's own per-window counts (the sparkline, and the model when no rate state
exists yet)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from streamfix.core.patterns import window_start
from streamfix.core.rates import RateConfig, RateState, analyze, bucket_of, forecast, rebucket, replay

HORIZON = 6


def sparkline(windows: Mapping[str, int], *, start: int, end: int, points: int) -> list[int]:
    width = max(1, -(-(end - start) // points))
    out = [0] * points
    for key, n in windows.items():
        ts = int(key)
        if start <= ts < end:
            out[min(points - 1, (ts - start) // width)] += int(n)
    return out


def trend_row(
    pattern: Mapping[str, Any],
    state: Mapping[str, Any] | None,
    config: RateConfig,
    now: float,
    *,
    start: int,
    end: int,
    points: int,
) -> dict[str, Any]:
    windows = pattern.get("windows", {})
    current = bucket_of(now, config)
    if state and state.get("rate"):
        rate = RateState.from_dict(state["rate"])
        open_bucket = state.get("open") or [current, 0]
        if int(open_bucket[0]) < current:  # the open bucket is over: close it, then judge the current one
            rate = replay([(int(open_bucket[0]), float(open_bucket[1]))], config, rate)
            count = 0.0
        else:
            count = float(open_bucket[1])
    else:
        closed = [(b, n) for b, n in rebucket(windows, config) if b < current]
        rate = replay(closed, config)
        count = sum(n for b, n in rebucket(windows, config) if b == current)
    verdict = analyze(rate, config, current, count)
    ahead = forecast(rate, config, HORIZON) if rate.n else ()
    return {
        "fingerprint": pattern.get("fingerprint"),
        "title": pattern.get("title") or pattern.get("error_type"),
        "category": pattern.get("category"),
        "severity": pattern.get("severity"),
        "count": pattern.get("count", 0),
        "last_seen": pattern.get("last_seen"),
        "rate": count,
        "baseline": round(verdict.baseline, 3),
        "spike_score": round(verdict.score, 3),
        "spike": verdict.spike,
        "trend": verdict.trend,
        "bucket_seconds": config.bucket_seconds,
        "forecast": [
            {"mean": round(f.mean, 3), "low": round(f.low, 3), "high": round(f.high, 3)} for f in ahead
        ],
        "sparkline": sparkline(windows, start=start, end=end, points=points),
    }


def group_rows(
    patterns: Iterable[Mapping[str, Any]],
    key: str,
    config: RateConfig,
    now: float,
    *,
    start: int,
    end: int,
    points: int,
) -> list[dict[str, Any]]:
    """The same analysis per category or per service, over the summed per-window counts of its patterns
    (a pattern seen in several services counts in each of them)."""
    summed: dict[str, dict[str, int]] = {}
    for p in patterns:
        names = (p.get("services") or ["-"]) if key == "service" else [p.get("category") or "-"]
        for name in names:
            windows = summed.setdefault(str(name), {})
            for start_s, n in p.get("windows", {}).items():
                windows[start_s] = windows.get(start_s, 0) + int(n)
    rows = []
    for name, windows in sorted(summed.items()):
        row = trend_row({"windows": windows}, None, config, now, start=start, end=end, points=points)
        rows.append(
            {
                key: name,
                **{
                    k: v
                    for k, v in row.items()
                    if k in ("rate", "baseline", "spike_score", "spike", "trend", "forecast", "sparkline")
                },
            }
        )
    return rows


def trends(
    patterns: Iterable[Mapping[str, Any] | None],
    states: Mapping[str, Mapping[str, Any]],
    *,
    config: RateConfig,
    now: float,
    hours: float,
    window_seconds: int,
    points: int = 24,
    limit: int = 200,
) -> dict[str, Any]:
    """Patterns seen in the last ``hours``, highest spike score first; the same per category and service."""
    end = window_start(now, window_seconds) + window_seconds
    start = end - max(window_seconds, int(hours * 3600))
    recent = [
        p
        for p in patterns
        if p is not None and not p.get("alias_of") and float(p.get("last_seen") or 0) >= start
    ]
    rows = [
        trend_row(p, states.get(str(p.get("fingerprint"))), config, now, start=start, end=end, points=points)
        for p in recent
    ]
    rows.sort(key=lambda r: (-r["spike_score"], str(r["fingerprint"])))
    return {
        "start": start,
        "end": end,
        "points": points,
        "patterns": rows[:limit],
        "total": len(rows),
        "categories": group_rows(recent, "category", config, now, start=start, end=end, points=points),
        "services": group_rows(recent, "service", config, now, start=start, end=end, points=points),
    }
