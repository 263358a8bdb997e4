"""A progress line for long commands (``streamfix scan``, ``streamfix replay``).

On a terminal it redraws one line at most every ``min_interval`` seconds: lines done, lines/s, the
share done and an ETA when the total is known. When the stream is not a terminal (piped, in CI)
it writes nothing, so output stays clean for other programs. The total and the position can be in
any unit (lines, bytes, nanoseconds of a time range): ``update(lines, position=...)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def render(label: str, lines: int, elapsed: float, done: float | None) -> str:
    """The text of one progress line (pure, for tests)."""
    rate = lines / elapsed if elapsed > 0 else 0.0
    text = f"{label}: {lines:,} lines, {rate:,.0f} lines/s"
    if done is not None:
        done = min(1.0, max(0.0, done))
        text += f", {done * 100:.1f}%"
        if 0 < done < 1:
            text += f", ETA {format_duration(elapsed * (1 - done) / done)}"
    return text


class Progress:
    """``with Progress(stream, total=...) as p: p.update(n_lines, position=...)``."""

    def __init__(
        self,
        stream: TextIO,
        *,
        label: str = "progress",
        total: float | None = None,
        enabled: bool | None = None,
        min_interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.label = label
        self.total = total
        self.enabled = stream.isatty() if enabled is None else enabled
        self.min_interval = min_interval
        self.clock = clock
        self.lines = 0
        self.position = 0.0
        self._start = clock()
        self._last_draw = float("-inf")
        self._width = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def done(self) -> float | None:
        return self.position / self.total if self.total else None

    def update(self, lines: int = 0, *, position: float | None = None) -> None:
        self.lines += lines
        if position is not None:
            self.position = position
        now = self.clock()
        if self.enabled and now - self._last_draw >= self.min_interval:
            self._last_draw = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        text = render(self.label, self.lines, now - self._start, self.done)
        pad = max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(self.clock())
            self.stream.write("\n")
            self.stream.flush()
            self.enabled = False
