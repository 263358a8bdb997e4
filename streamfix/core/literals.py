"""Literal gates for regular expressions: words a text must contain for a pattern to match in it.

Classification rules are alternations compiled with ``re.IGNORECASE``, which keeps the regular
expression engine from searching for a literal first: each search tries every alternative at every
position of the text. :func:`required_literals` reads a pattern's parse tree and returns a set of
lowercase strings such that every match contains at least one of them, so a text that contains none
is known not to match without running the search (:func:`may_match`). For ``timed? ?out|deadline
exceeded`` that is ``("deadline exceeded", "time")``.

The gate is exact, never a guess: it is only used on ASCII text with ASCII literals, where a
case-insensitive match of a literal is the same as finding its lowercase in the lowercased text
(Unicode adds case pairs such as the Kelvin sign and ``k``, or long s and ``s``, that lowercasing does
not join), and a pattern whose tree has anything it does not understand gets no gate at all.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

with warnings.catch_warnings():  # Python's own parser of regular expressions, under its typed, older names
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants as sre
    import sre_parse

_REPEATS = frozenset({sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT})

Gate = tuple[str, ...]
"""Lowercase ASCII strings; a text can match only when it contains one of them."""


def _best(candidates: list[frozenset[str]]) -> frozenset[str] | None:
    """Of several sets that are each required, the one whose shortest string is longest (fewest hits);
    only sets of ASCII strings (see the module) count."""
    usable = [found for found in candidates if all(word.isascii() for word in found)]
    if not usable:
        return None
    return max(usable, key=lambda found: (min(map(len, found)), -len(found)))


def _required(seq: Any) -> frozenset[str] | None:
    """A set of strings of which every match of ``seq`` contains one; ``None`` when there is none."""
    candidates: list[frozenset[str]] = []
    run: list[str] = []

    def close_run() -> None:
        if run:
            candidates.append(frozenset({"".join(run)}))
            run.clear()

    for op, av in seq:
        if op is sre.LITERAL:
            run.append(chr(av))
            continue
        close_run()
        found: frozenset[str] | None = None
        if op is sre.SUBPATTERN:
            found = _required(av[3])
        elif op is sre.ATOMIC_GROUP:
            found = _required(av)
        elif op is sre.BRANCH:
            branches = [_required(branch) for branch in av[1]]
            if all(branch is not None for branch in branches):
                found = frozenset().union(*(b for b in branches if b is not None))
        elif op in _REPEATS and av[0] >= 1:
            found = _required(av[2])
        if found:
            candidates.append(found)
    close_run()
    return _best(candidates)


def required_literals(pattern: re.Pattern[str]) -> Gate | None:
    """The gate of ``pattern`` (see the module), or ``None`` when it has none that is safe to use."""
    try:
        found = _required(sre_parse.parse(pattern.pattern, pattern.flags))
    except Exception:  # a tree this reading does not know: no gate, the search alone decides
        return None
    if not found or not all(found):
        return None
    return tuple(sorted({word.lower() for word in found}, key=lambda word: (-len(word), word)))


def may_match(gate: Gate | None, text: str, lowered: str | None = None) -> bool:
    """False only when ``text`` cannot hold a match of the gate's pattern (``lowered``: its lowercase)."""
    if gate is None or not text.isascii():
        return True
    low = text.lower() if lowered is None else lowered
    return any(word in low for word in gate)
