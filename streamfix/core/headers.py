"""Find where the message starts in a raw log line, so headers stay out of templates.

This is deliberately small: the template miner only needs the offset of the message, not the parsed
header fields. Three general shapes are recognised, tried in order:

1. **syslog**: ``Mon DD HH:MM:SS host process[pid]:`` (or with an ISO timestamp).
2. **Level headers**: the line starts like a header (one of its first two tokens has a digit, or it
   opens with ``[``, ``<``, ``-``, a month or weekday name) and a log level keyword (``INFO``, ``[error]``, ``WARN``...) appears within the
   first dozen tokens. The header runs to the level, then takes an optional ``[thread]`` block, a
   component (``org.foo.Bar:`` or ``nova.compute.manager [req-... - - -]``) and a ``-`` separator.
3. **Bare timestamps**: a run of leading tokens with digits or brackets, when nothing above matched.

A line that matches none of them is all message.
"""

from __future__ import annotations

import logging
import re

logger = logging.getLogger(__name__)

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
_WEEKDAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*"
_LEVEL_WORDS = (
    "TRACE",
    "DEBUG",
    "INFO",
    "NOTICE",
    "WARN",
    "WARNING",
    "ERROR",
    "ERR",
    "SEVERE",
    "FATAL",
    "CRITICAL",
    "CRIT",
    "ALERT",
    "EMERG",
    "FINE",
    "FINER",
    "FINEST",
)
_LEVEL = (
    "(?:"
    + "|".join(
        sorted(
            {w for word in _LEVEL_WORDS for w in (word, word.lower(), word.title())}, key=len, reverse=True
        )
    )
    + ")"
)
_BRACKET = r"\[(?:[^\[\]]|\[[^\[\]]*\])*\]"
_STARTS_LIKE_HEADER = rf"(?=[\[<(-]|{_MONTH}\b|{_WEEKDAY}\b|(?:\S+\s+)?\S*\d)"
_COMPONENT = r"(?:[\w$.@/<>()-]+:(?=\s)|[\w$-]+(?:\.[\w$-]+)+(?=\s+\[))"
_AFTER_LEVEL = (
    rf"(?:\s+{_BRACKET})*"
    rf"(?:\s+-(?=\s)|\s+{_COMPONENT}(?:\s+{_BRACKET})?(?:\s+-(?=\s))?|:(?=\s))?"
)
_LEVEL_HEADER = re.compile(
    rf"\s*{_STARTS_LIKE_HEADER}(?:\S+\s+){{0,12}}?[\[<]?{_LEVEL}[\]>]?:?{_AFTER_LEVEL}\s+"
)
_SYSLOG_HEADER = re.compile(
    rf"\s*(?:{_MONTH}\s+\d{{1,2}}\s+\d\d:\d\d:\d\d|\d{{4}}-\d\d-\d\dT\S+)"
    rf"\s+\S+\s+[^\s:\[\]]+(?:\[\d+\])?:\s+"
)
_TIMESTAMP_RUN = re.compile(rf"\s*(?:(?:\S*\d\S*|{_BRACKET}|-)\s+)+")


def message_offset(line: str) -> int:
    """Return the index in ``line`` where the message (the part after the header) starts."""
    match = _SYSLOG_HEADER.match(line) or _LEVEL_HEADER.match(line)
    if match is None and line[:1].isdigit():
        match = _TIMESTAMP_RUN.match(line)
    if match is None or match.end() >= len(line):
        return 0
    return match.end()


def strip_header(line: str) -> str:
    """Return the message part of ``line`` (the whole line when no header is recognised)."""
    return line[message_offset(line) :]
