"""Resume cursors, duplicate suppression, timestamps and backoff for log sources: pure functions.

A source delivers lines in timestamp order but cannot resume from an exact position: Railway's
``--since`` and Loki's inclusive ``start`` both return again the lines at the resume timestamp. A
:class:`Cursor` therefore keeps the last timestamp seen *and* the hashes of the lines seen at that
timestamp; :class:`Deduper` drops a line that is older than the cursor or that repeats one of those
hashes. Nothing here does I/O, so it is tested without an event loop.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

MAX_HASHES = 100_000  # a run of equal timestamps longer than this is cut (and counted by the caller)


def line_hash(*parts: str) -> str:
    """A short, stable hash of a line (and whatever identifies its stream)."""
    data = "\x00".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=8).hexdigest()


@dataclass(slots=True)
class Cursor:
    """Where a source stopped: the last timestamp (ns) and the hashes of the lines at it."""

    ts_ns: int = 0
    ts_text: str = ""  # the timestamp as the source spelled it (Railway's --since takes it back)
    hashes: set[str] = field(default_factory=set)
    # Raw-topic partition → highest offset acknowledged when the cursor was written. Batches after
    # these offsets may hold lines published after the cursor (a hard kill); see recover().
    offsets: dict[int, int] = field(default_factory=dict)
    position: tuple[int, ...] = ()  # file sources: (device, inode, offset after the last full line)

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "ts_ns": self.ts_ns,
                "ts_text": self.ts_text,
                "hashes": sorted(self.hashes),
                "offsets": {str(p): o for p, o in sorted(self.offsets.items())},
                "position": list(self.position),
            }
        )

    @classmethod
    def from_json(cls, data: bytes) -> Cursor:
        obj: Any = orjson.loads(data)
        offsets = {int(p): int(o) for p, o in (obj.get("offsets") or {}).items()}
        position = tuple(int(x) for x in obj.get("position") or ())
        return cls(int(obj.get("ts_ns", 0)), str(obj.get("ts_text", "")), set(obj.get("hashes", ())), offsets,
                   position)

    def copy(self) -> Cursor:
        return Cursor(self.ts_ns, self.ts_text, set(self.hashes), dict(self.offsets), self.position)

    def advance(self, ts_ns: int, ts_text: str, digest: str) -> None:
        """Move past a line known to be published already (used when recovering after a hard kill)."""
        if ts_ns > self.ts_ns:
            self.ts_ns, self.ts_text, self.hashes = ts_ns, ts_text, {digest}
        elif ts_ns == self.ts_ns:
            self.hashes.add(digest)


class Deduper:
    """Drops lines already delivered before the cursor; advances the cursor over accepted lines."""

    __slots__ = ("cursor", "duplicates", "late", "overflow", "skip")

    def __init__(self, cursor: Cursor | None = None, skip: set[tuple[int, str]] | None = None) -> None:
        self.cursor = cursor.copy() if cursor else Cursor()
        # (ts_ns, hash) of lines known to be published already although they are after the cursor
        # (found on the raw topic after a hard kill); each is dropped once when it comes again.
        self.skip = skip or set()
        self.duplicates = 0
        self.late = 0
        self.overflow = 0

    def accept(self, ts_ns: int, digest: str, ts_text: str = "") -> bool:
        """True when the line is new. Lines must come in non-decreasing timestamp order."""
        cur = self.cursor
        if self.skip and (ts_ns, digest) in self.skip:
            self.skip.discard((ts_ns, digest))
            cur.advance(ts_ns, ts_text, digest)
            self.duplicates += 1
            return False
        if ts_ns > cur.ts_ns:
            cur.ts_ns = ts_ns
            cur.ts_text = ts_text
            cur.hashes = {digest}
            return True
        if ts_ns < cur.ts_ns:
            self.late += 1
            return False
        if digest in cur.hashes:
            self.duplicates += 1
            return False
        if len(cur.hashes) >= MAX_HASHES:
            self.overflow += 1
        else:
            cur.hashes.add(digest)
        return True


_EPOCH_CACHE: dict[str, int] = {}


def parse_ts_ns(text: str) -> int:
    """RFC 3339 / ISO 8601 (``2024-05-01T12:00:00.123456789Z``, any offset) or a ns epoch → ns epoch.

    Nanosecond fractions are kept (``datetime`` stops at microseconds). Raises ``ValueError``.
    """
    if len(text) == 30 and text[19] == "." and text[29] == "Z":  # 2024-05-01T12:00:00.123456789Z
        seconds = _EPOCH_CACHE.get(text[:19])
        if seconds is not None:
            return seconds * 1_000_000_000 + int(text[20:29])
    if text.isdigit():
        return int(text)
    dot = text.find(".", 17)
    frac_ns = 0
    if dot == -1:
        base, tail = _split_zone(text)
    else:
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        digits = text[dot + 1 : end]
        frac_ns = int((digits + "000000000")[:9]) if digits else 0
        base, tail = text[:dot], text[end:]
    key = base + tail
    seconds = _EPOCH_CACHE.get(key)
    if seconds is None:
        stamp = datetime.fromisoformat(base + (tail if tail not in ("Z", "z") else "+00:00"))
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        seconds = int(stamp.timestamp())
        if len(_EPOCH_CACHE) > 4096:
            _EPOCH_CACHE.clear()
        _EPOCH_CACHE[key] = seconds
        if tail in ("Z", "z"):
            _EPOCH_CACHE[base] = seconds  # the fast path's key
    return seconds * 1_000_000_000 + frac_ns


def _split_zone(text: str) -> tuple[str, str]:
    if text.endswith(("Z", "z")):
        return text[:-1], "Z"
    for i in range(len(text) - 1, 10, -1):
        if text[i] in "+-":
            return text[:i], text[i:]
    return text, ""


def format_ts_ns(ts_ns: int) -> str:
    """ns epoch → RFC 3339 in UTC with nanoseconds (``2024-05-01T12:00:00.123456789Z``)."""
    seconds, frac = divmod(ts_ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{frac:09d}Z"


@dataclass(slots=True)
class Backoff:
    """Exponential backoff with a cap; ``reset()`` after a run that delivered data."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    attempt: int = 0

    def next_delay(self) -> float:
        delay = min(self.maximum, self.initial * self.factor**self.attempt)
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0
