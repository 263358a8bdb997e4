"""Bounds on the text the classifier and fingerprinter read, so one huge line costs what a long one does.

A log line may be up to ``STREAMFIX_MAX_LINE_BYTES`` (1 MB). The classification and
parameterization rules are regular expressions over the message; on a message of a megabyte they
take about a second each, and a batch of such lines blocked the worker for many seconds. What
identifies an error is at the start of its message, so an event's message (and log message) is cut
to its first :data:`MESSAGE_MAX_CHARS` characters before it is classified, fingerprinted and grouped;
the traceback text keeps every line.
"""

from __future__ import annotations

MESSAGE_MAX_CHARS = 4096


def clip(text: str | None, limit: int = MESSAGE_MAX_CHARS) -> str | None:
    """``text`` cut to ``limit`` characters (None and shorter texts unchanged)."""
    return text if text is None or len(text) <= limit else text[:limit]
