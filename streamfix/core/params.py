"""Parameterisation: replace the variable parts of a log message with placeholders.

The rules are data: a table of named, compiled patterns in the spirit of Sentry's
``DEFAULT_PARAMETERIZATION_REGEXES``. They are joined into one alternation so that a message is
scanned once; at each position the first rule in table order that matches wins, so the more specific
shapes (timestamps, URLs, paths, addresses) come before the generic "token that contains a digit".

Two entry points:

- :func:`parameterize` names what it replaced (``<ip>``, ``<uuid>``, ``<int>``, ...); fingerprints use it.
- :func:`mask` replaces every match with ``<*>`` and folds runs of adjacent variables into one, which is
  what the template miner needs: ``10.0.0.1,10.0.0.2`` and ``blk_1 blk_2 blk_3`` both become one ``<*>``.

Bump :data:`PARAMS_VERSION` whenever a rule changes what it matches: fingerprints carry it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

logger = logging.getLogger(__name__)

PARAMS_VERSION = 1
WILDCARD = "<*>"

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
_WEEKDAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*"
_TLD = (
    r"(?:com|net|org|edu|gov|mil|int|info|biz|io|co|us|uk|de|jp|cn|ru|fr|pl|nl|br|it|es|au|ca|in|kr"
    r"|tw|hk|se|ch|at|be|dk|no|fi|cz|local|localdomain|internal|lan)"
)
# A character of an identifier-like token: anything but whitespace, brackets, quotes and the
# separators of key=value, key: value and lists. Dots are allowed inside a token but not in runs,
# so ``dcbf.........0`` keeps its label and only the ``0`` is a variable.
_W = r"[^\s=:,;()\[\]{}\"'<>|.]"
_HEX = r"[0-9a-fA-F]"
# Variables start where a token starts: after whitespace, a bracket, a quote, a separator or a run of
# dots. Checking this first lets the scanner skip the middle of words without trying every rule
# there, and keeps the scan linear in the line length (possessive quantifiers do the rest).
_TOKEN_START = r"(?:(?<![^\s=:,;()\[\]{}\"'<>|#@/\\])|(?<=\.\.))"


@dataclass(frozen=True, slots=True)
class ParamRule:
    """One named pattern. ``name`` becomes the placeholder ``<name>`` in :func:`parameterize`."""

    name: str
    pattern: str


PARAMETERIZATION_RULES: tuple[ParamRule, ...] = (
    ParamRule(
        "datetime",
        rf"(?:{_WEEKDAY},?\s+)?{_MONTH}\s+\d{{1,2}},?\s+\d\d:\d\d:\d\d(?:\.\d+)?"
        rf"(?:\s+[A-Z]{{3,4}}(?=\s+\d{{4}}))?(?:\s+\d{{4}}\b)?",
    ),
    ParamRule(
        "datetime",
        r"\d{4}-\d\d-\d\d(?:[T ]|-(?=\d\d\.))\d\d[:.]\d\d[:.]\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?",
    ),
    ParamRule("date", r"\b\d{4}[-/.]\d\d[-/.]\d\d\b|\b\d\d/\d\d/\d\d(?:\d\d)?\b"),
    ParamRule("time", r"\b\d\d:\d\d:\d\d(?:[.,]\d+)?\b"),
    ParamRule("url", r"\b[a-zA-Z][a-zA-Z0-9+.-]*+://[^\s\"'<>]+"),
    ParamRule("email", r"\b[\w.+-]++@[\w-]++(?:\.[\w-]++)+"),
    ParamRule("uuid", rf"\b{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}\b"),
    # An IPv4 address, with a port, or as the start of a reverse-DNS name (``1.2.3.4.dsl.example.om``).
    ParamRule("ip", r"\b\d{1,3}(?:\.\d{1,3}){3}(?:\.[a-zA-Z0-9-]+)*(?::\d{1,5})?\b"),
    ParamRule("mac", rf"\b(?:{_HEX}{{2}}[:-]){{3,}}{_HEX}{{2}}\b"),
    ParamRule("ip", rf"(?<![\w:])(?=[\w:]*\d)(?:{_HEX}{{0,4}}:){{2,7}}{_HEX}{{1,4}}(?![\w:])|::1\b"),
    ParamRule("path", r"(?<![\w/.])(?:\.{0,2}/[\w.$@%+~-]*+)++(?:\?\S*+)?"),
    ParamRule("path", r"\b[A-Za-z]:\\[^\s\"'<>]*"),
    ParamRule("hostname", rf"\b[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*\.{_TLD}\b(?!\.\w)"),
    ParamRule("hex", rf"\b0[xX]{_HEX}+\b"),
    ParamRule(
        "duration",
        r"(?<![\w.])[<>~]?\d+(?:\.\d+)?\s?(?:ns|us|µs|ms|s|sec|secs|seconds|min|mins|minutes|h|hours)\b",
    ),
    ParamRule("size", r"(?<![\w.])[<>~]?\d+(?:\.\d+)?\s?(?:[KMGTP]i?B|B|bytes)\b"),
    # Any token with a digit in it: numbers, ``blk_-123``, ``job_2015...``, ``user42``, versions.
    ParamRule("id", rf"(?={_W})(?=(?:{_W}|\.(?={_W}))*?\d)(?:{_W}|\.(?={_W}))++"),
)
"""The rules, most specific first. ``id`` is the catch-all and must stay last."""

QUOTED_RULE = ParamRule("quoted", r"'[^'\s]{1,80}'")
"""Single-quoted values: used by :func:`parameterize` but not by :func:`mask`, because short quoted
words are as often constants (``"GET"`` vs ``"POST"``) as values."""

_NUMERIC = re.compile(r"[-+]?\d+(?:\.\d+)?")


def _compile(rules: tuple[ParamRule, ...]) -> tuple[re.Pattern[str], tuple[str, ...]]:
    names = tuple(rule.name for rule in rules)
    joined = "|".join(f"(?P<r{index}>{rule.pattern})" for index, rule in enumerate(rules))
    return re.compile(f"{_TOKEN_START}(?:{joined})"), names


MASK_PATTERN, _MASK_NAMES = _compile(PARAMETERIZATION_RULES)
_PARAM_PATTERN, _PARAM_NAMES = _compile((QUOTED_RULE, *PARAMETERIZATION_RULES))
_EMPTY_VALUE = re.compile(r"(?<![\w.>])(?:\(\)|\[\]|\"\"|'')")
_EMPTY_AS_WILDCARD = {"()": "(<*>)", "[]": "[<*>]", '""': '"<*>"', "''": "'<*>'"}
_GLUED_WILDCARDS = re.compile(r"<\*>(?:[^\s<]{0,2}<\*>)+")
# ``<*> <*>`` and ``<*> (<*>)``: a value followed by more values or by another form of it in brackets
# (``18846 bytes (18.4 KB)``).
_SPACED_WILDCARDS = re.compile(r"<\*>(?:\s+(?:<\*>|[(\[]<\*>[)\]](?!\S)))+")


def mask(text: str) -> str:
    """Return ``text`` with every variable replaced by ``<*>``, runs of variables folded into one.

    An empty ``()``, ``[]`` or quoted value that is not a call (``init()``) is treated as an empty
    variable, so ``from 1.2.3.4 ()`` and ``from 1.2.3.4 (host.example.com)`` mask alike.
    """
    masked = MASK_PATTERN.sub(WILDCARD, text)
    if "()" in masked or "[]" in masked or '""' in masked or "''" in masked:
        masked = _EMPTY_VALUE.sub(lambda match: _EMPTY_AS_WILDCARD[match.group()], masked)
    if masked.count(WILDCARD) > 1:
        masked = _SPACED_WILDCARDS.sub(WILDCARD, _GLUED_WILDCARDS.sub(WILDCARD, masked))
    return masked


def _placeholder(match: re.Match[str]) -> str:
    group = match.lastgroup
    name = _PARAM_NAMES[int(group[1:])] if group else "param"
    if name == "id" and _NUMERIC.fullmatch(match.group()):
        name = "float" if "." in match.group() else "int"
    return f"<{name}>"


def parameterize(text: str) -> str:
    """Return ``text`` with each variable replaced by a named placeholder such as ``<ip>`` or ``<int>``."""
    return _PARAM_PATTERN.sub(_placeholder, text)


def rule_names() -> tuple[str, ...]:
    """The distinct rule names, in table order (useful for documentation and tests)."""
    return tuple(dict.fromkeys(_PARAM_NAMES))
