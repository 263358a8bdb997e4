"""What this worker has seen of each log source on the raw topic, for the health route.

The worker does not run the sources (watchers are processes of their own that publish to the raw
topic), so it reports what reaches it: per source kind (``RawBatch.source``: railway, loki, file,
stdin, replay, ...) the batches and lines its ingest agent consumed, the newest line time seen and how
far behind that line was when it arrived, kept in memory by :class:`SourceRegistry`. Railway and Loki
are always reported, with whether this process's settings configure them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from streamfix.core.eventtime import batch_clock
from streamfix.kafka.wire import RawBatch
from streamfix.runtime.settings import Settings

STATE_KEY = "sources_seen"
MAX_KINDS = 32  # source kinds are producers' free text: the registry stays bounded
OTHER = "other"
KNOWN = ("railway", "loki")


def iso(ts: float | None) -> str | None:
    """Unix seconds as ISO 8601 UTC (``2025-11-28T10:00:00.000Z``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class SourceSeen:
    batches: int = 0
    lines: int = 0
    last_batch_at: float = 0.0  # this worker's clock when the newest batch arrived
    last_line_at: float | None = None  # newest line time (its timestamp, else the batch's sent_at)
    lag_seconds: float | None = None  # arrival minus the newest line time of the latest batch with lines

    def view(self, now: float) -> dict[str, Any]:
        age = None if self.last_line_at is None else round(max(0.0, now - self.last_line_at), 3)
        return {"batches": self.batches, "lines": self.lines, "last_line_seen": iso(self.last_line_at),
                "last_line_seen_epoch": self.last_line_at, "last_batch_received": iso(self.last_batch_at),
                "lag_seconds": self.lag_seconds, "last_line_age_seconds": age}


class SourceRegistry:
    """Per source kind, what the ingest agent of this process consumed (in memory, since it started)."""

    def __init__(self, max_kinds: int = MAX_KINDS) -> None:
        self.max_kinds = max_kinds
        self.kinds: dict[str, SourceSeen] = {}

    def record(self, batch: RawBatch, now: float) -> None:
        """Count one consumed batch (the internal flush "tick" batches are not a source)."""
        if batch.source == "tick":
            return
        kind = batch.source if batch.source in self.kinds or len(self.kinds) < self.max_kinds else OTHER
        seen = self.kinds.setdefault(kind, SourceSeen())
        seen.batches += 1
        seen.last_batch_at = now
        if not batch.lines:
            return
        seen.lines += len(batch.lines)
        newest = batch_clock(batch.timestamps_ns, batch.sent_at)
        seen.lag_seconds = round(max(0.0, now - newest), 3)
        if seen.last_line_at is None or newest > seen.last_line_at:
            seen.last_line_at = newest


def source_registry(state: MutableMapping[str, Any]) -> SourceRegistry:
    """The process's registry, kept in the app's shared ``state`` (made on first use)."""
    registry = state.get(STATE_KEY)
    if not isinstance(registry, SourceRegistry):
        registry = state[STATE_KEY] = SourceRegistry()
    return registry


def configured(settings: Settings, which: Callable[[str], str | None] = shutil.which) -> dict[str, bool]:
    """Whether this process's settings configure Railway (its CLI is found) and Loki (URL and query)."""
    return {"railway": which(settings.railway_bin) is not None,
            "loki": bool(settings.loki_url and settings.loki_query)}


def sources_health(registry: SourceRegistry, settings: Settings, now: float,
                   which: Callable[[str], str | None] = shutil.which) -> dict[str, dict[str, Any]]:
    """``{kind: {configured, seen, batches, lines, last_line_seen, lag_seconds, ...}}``, Railway and Loki
    always, other kinds once seen."""
    flags = configured(settings, which)
    out: dict[str, dict[str, Any]] = {}
    for kind in (*KNOWN, *sorted(k for k in registry.kinds if k not in KNOWN)):
        seen = registry.kinds.get(kind)
        out[kind] = {"configured": flags.get(kind), "seen": seen is not None,
                     **(seen or SourceSeen(last_batch_at=0.0)).view(now)}
        if seen is None:
            out[kind]["last_batch_received"] = None
    return out
