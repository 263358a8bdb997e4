"""The clock of a stream's quiet-period flush: event time where the source has it.

The assembler stamps each line with a time and flushes a half traceback of a sub-stream once the
stream's clock has moved ``quiet_seconds`` past its last line. With the publish time as that clock,
an outage of the source (a watcher killed and restarted, a network partition) moves the clock while
no line moves, and the first batch after it flushes whatever was open, although its continuation is
about to arrive. Event time (the lines' own timestamps) moves only with the stream: lines published
late still carry the time they were logged, so they continue what they continue.
"""

from __future__ import annotations

from collections.abc import Sequence

FLUSH_ALL = float("inf")  # the clock of a tick: the stream has been silent long enough, flush what is open


def batch_clock(timestamps_ns: Sequence[int] | None, sent_at: float, *, tick: bool = False) -> float:
    """The time a batch stamps its lines with: its newest line timestamp, else its publish time."""
    if tick:
        return FLUSH_ALL
    if timestamps_ns:
        newest = max(timestamps_ns)
        if newest > 0:
            return newest / 1e9
    return sent_at
