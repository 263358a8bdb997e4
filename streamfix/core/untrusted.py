"""Text that came from outside, handled as such: invisible characters, terminal escapes, lone
credential-shaped tokens in text a model wrote, and the redaction of whole error events.

Pure functions; the rule-table redaction itself is :mod:`streamfix.core.redact`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import replace

from streamfix.core.models import ErrorEvent

MARKER = "[REDACTED"
"""Every redaction marker starts with this; text holding one is never redacted again."""
_MARKER = MARKER


# --- neutralising untrusted text --------------------------------------------------------------------

_INVISIBLE_CATEGORIES = frozenset({"Cf", "Co", "Cs", "Cn"})


def is_invisible(ch: str) -> bool:
    """Format, private-use, surrogate or unassigned characters: bidi overrides, zero-width spaces..."""
    return unicodedata.category(ch) in _INVISIBLE_CATEGORIES and ch not in "\t\n\r"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def escape_terminal(text: str) -> str:
    """Show control characters (ANSI escapes, carriage returns, bells...) and invisible characters as
    visible ``\\xNN``/``\\uNNNN`` escapes, so text printed to a terminal cannot move the cursor, hide
    itself or change the title. Newlines and tabs are kept."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\n\t":
            out.append(ch)
        elif _CONTROL.match(ch):
            out.append(f"\\x{code:02x}")
        elif is_invisible(ch):
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out)


# --- error events -----------------------------------------------------------------------------------------


def redact_event(event: ErrorEvent, clean: Callable[[str], str]) -> ErrorEvent:
    """``event`` with ``clean`` applied to every text that came from the log (message, frames, ...).

    ``clean`` is a redactor of one string (usually cached: frames repeat). Scrubbing at ingest uses it
    before the event is classified and fingerprinted, so the same input always gives the same pattern.
    The event itself is returned when nothing changed (the usual case), so the cost is the lookups.
    """

    def opt(value: str | None) -> str | None:
        return None if value is None else clean(value)

    changes: dict[str, object] = {}
    for name in ("message", "title", "suggested_fix"):
        value = getattr(event, name)
        cleaned = clean(value)
        if cleaned != value:
            changes[name] = cleaned
    for name in ("log_message", "file", "function"):
        value = getattr(event, name)
        cleaned_opt = opt(value)
        if cleaned_opt != value:
            changes[name] = cleaned_opt
    chained = tuple(clean(c) for c in event.chained)
    if chained != event.chained:
        changes["chained"] = chained
    frames = []
    frames_changed = False
    for f in event.frames:
        new = (clean(f.file), clean(f.function), opt(f.code), opt(f.module))
        if new != (f.file, f.function, f.code, f.module):
            frames_changed = True
            f = replace(f, file=new[0], function=new[1], code=new[2], module=new[3])
        frames.append(f)
    if frames_changed:
        changes["frames"] = tuple(frames)
    return replace(event, **changes) if changes else event  # type: ignore[arg-type]


# --- bare credentials in text a model wrote ---------------------------------------------------------------

_BARE_TOKEN = re.compile(r"[^\s'\"`()\[\]{}<>,;|\\]{8,}")
_HEXISH = re.compile(r"[0-9a-fA-F\-]{16,}")
_SYMBOLS = frozenset("!#$%&*+=?@^~")
_CODE_SPANS = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|#[^\n]*")


def _bare_secret(token: str) -> bool:
    """A lone token that looks like a credential: hex or UUID-shaped, a mix of three character classes
    (``zxhj*3pUcU``, base64), or ten or more letters and digits run together (``gjuel48ccmwx``)."""
    core = token.strip(".:!?")
    if len(core) < 8 or _MARKER in core or "://" in core or core.count("/") > 1:
        return False
    has_digit = any(c.isdigit() for c in core)
    has_alpha = any(c.isalpha() for c in core)
    if not has_alpha:
        return False
    classes = (
        any(c.islower() for c in core) + any(c.isupper() for c in core) + has_digit
        + any(c in _SYMBOLS for c in core)
    )
    if classes >= 3:
        return True
    if not has_digit:
        return False
    if len(core) >= 16 and _HEXISH.fullmatch(core):
        return True
    return len(core) >= 10 and "_" not in core and "." not in core


def redact_bare(text: str, *, code: bool = False) -> tuple[str, int]:
    """Remove lone credential-shaped tokens (:func:`_bare_secret`), for text a model wrote: a model may
    repeat a secret without the context that gives a log secret away. With ``code``, only string
    literals and comments are looked at, so identifiers stay intact."""
    hits = 0

    def token(match: re.Match[str]) -> str:
        nonlocal hits
        if _bare_secret(match.group(0)):
            hits += 1
            return "[REDACTED:bare_secret]"
        return match.group(0)

    if not code:
        return _BARE_TOKEN.sub(token, text), hits

    def span(match: re.Match[str]) -> str:
        return _BARE_TOKEN.sub(token, match.group(0))

    return _CODE_SPANS.sub(span, text), hits
