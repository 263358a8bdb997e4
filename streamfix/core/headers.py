"""Find where the message starts in a raw log line, so headers stay out of templates.

This is deliberately small: the template miner only needs the offset of the message, not the parsed
header fields. Three general shapes are recognised, tried in order:

1. **syslog**: ``Mon DD HH:MM:SS host process[pid]:`` (or with an ISO timestamp), possibly after a
   few leading fields; also ``[timestamp] program - `` and ``timestamp|component|pid|`` prefixes.
2. **Level headers**: the line starts like a header (one of its first two tokens has a digit, or it
   opens with ``[``, ``<``, ``-``, a month or weekday name) and a log level keyword (``INFO``,
   ``[error]``, ``WARN``...) appears within the first dozen tokens, every token before it
   header-like (digits, brackets, upper-case words, month names); one-letter logcat levels count
   when a ``Tag:`` follows. The header runs to the level, then takes an optional ``[thread]`` block,
   a component (``org.foo.Bar:`` or ``nova.compute.manager [req-... - - -]``) and a ``-`` separator.
3. **Bare timestamps**: a run of leading tokens with digits or brackets, when nothing above matched
   and the line opens with a digit (``2024-...``, ``[12/Oct...``, klog's ``I0101``).

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
_BRACKET = r"\[(?:[^\[\]]++|\[[^\[\]]*+\])*+\]"
_DIGIT_TOKEN = r"(?=\S*?\d)\S++"  # a whole token with a digit, without backtracking into it
# A token that can sit in a header before the level: has a digit, is bracketed, a separator, an
# upper-case word (``RAS KERNEL``), a month or weekday name, or a name followed by `` - ``.
_HEADERISH = rf"(?:{_DIGIT_TOKEN}|{_BRACKET}|[-|]|[A-Z][A-Z0-9_]*+|{_MONTH}|{_WEEKDAY}|[\w.$:-]++(?=\s+-\s))"
_STARTS_LIKE_HEADER = rf"(?=[\[<(-]|{_MONTH}\b|{_WEEKDAY}\b|(?:\S+\s+)?\S*\d)"
# A component after the level: ``org.foo.Bar:``, ``nova.compute.manager`` before ``[...]``, a logger
# name before `` - `` (logback, log4j patterns), or a name padded to a fixed-width column.
_COMPONENT = (
    r"(?:[\w$.@/<>()-]+:(?=\s)|[\w$-]+(?:\.[\w$-]+)+(?=\s+\[)|[\w$.-]++(?=\s+-\s)|[\w$.-]++(?=\s{2,}))"
)
_AFTER_LEVEL = (
    rf"(?:\s+{_BRACKET})*"
    rf"(?:\s+-(?=\s)|\s+{_COMPONENT}(?:\s+{_BRACKET})?(?:\s+-(?=\s))?|:(?=\s))?"
)
# Android logcat style one-letter levels count only when a ``Tag:`` follows.
_ONE_LETTER_LEVEL = r"[VDIWEF](?=\s+[^\s:]+(?:\s[^\s:]+)?:\s)"
_LEVEL_HEADER = re.compile(
    rf"\s*{_STARTS_LIKE_HEADER}(?:{_HEADERISH}\s+){{0,12}}?"
    rf"(?:[\[<]?{_LEVEL}[\]>]?:?|{_ONE_LETTER_LEVEL}){_AFTER_LEVEL}\s+"
)
_SYSLOG_HEADER = re.compile(
    rf"\s*(?:\S++\s+){{0,6}}?(?:{_MONTH}\s+\d{{1,2}}\s+\d\d:\d\d:\d\d|\d{{4}}-\d\d-\d\dT\S+)"
    rf"\s+\S+\s+[^\s:\[\]]++(?:\[\d+\])?(?:\s+\([^()\s]*\))?:\s+"
)
_BRACKET_PROGRAM_HEADER = re.compile(r"\s*\[(?=[^\]]*?\d)[^\]]*+\]\s+[^\s\[\]]++\s+-\s+")
_PIPE_HEADER = re.compile(r"\s*(?=[^|\s]*?\d)[^|\s]*+\|(?:[^|\s]++\|){1,4}")
_TIMESTAMP_RUN = re.compile(rf"\s*(?:(?:{_DIGIT_TOKEN}|{_BRACKET}|-)\s+)+")
# The bare-timestamp rule only applies when the line opens with a digit early on (``2024-``, ``[12/``,
# klog's ``I0101``).
_TIMESTAMP_START = re.compile(r"\s*\[?[A-Za-z]?\d")
_HEADERS = (_SYSLOG_HEADER, _BRACKET_PROGRAM_HEADER, _PIPE_HEADER, _LEVEL_HEADER)


def message_offset(line: str) -> int:
    """Return the index in ``line`` where the message (the part after the header) starts."""
    for pattern in _HEADERS:
        match = pattern.match(line)
        if match is not None:
            break
    else:
        match = _TIMESTAMP_RUN.match(line) if _TIMESTAMP_START.match(line) else None
    if match is None or match.end() >= len(line):
        return 0
    return match.end()


def strip_header(line: str) -> str:
    """Return the message part of ``line`` (the whole line when no header is recognised)."""
    return line[message_offset(line) :]
