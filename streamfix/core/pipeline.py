"""The whole error path over a batch of lines of one stream: parse, assemble, extract, classify, fingerprint.

:func:`run_batch` is the one entry point. It takes the raw lines and the stream's state from the
previous batch (``None`` at first) and returns the completed error events and the new state, which is
plain JSON-able data (store it in a table; pass it back in to resume, also after a restart).

Speed: while no traceback is open, a line that the prefilter (:func:`assemble.might_open_error`, a few
substring checks over the lowercased raw line) rules out is counted as a plain line without being
decoded. Only candidate lines, and the lines that follow them while a unit is open, are parsed fully.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import compress
from typing import Any

from streamfix.core.assemble import Assembler, Unit, might_open_error
from streamfix.core.bounds import MESSAGE_MAX_CHARS, clip
from streamfix.core.classify import RuleSet, classify, custom_fingerprint
from streamfix.core.extract import DEFAULT_IN_APP, InAppConfig, extract
from streamfix.core.fingerprint import fingerprint_event
from streamfix.core.models import ErrorEvent, Frame
from streamfix.core.parse import parse_line
from streamfix.core.rules.default import DEFAULT_FIXABLE_CATEGORIES

STATE_VERSION = 1

Fingerprinter = Callable[[str, Sequence[Frame], str], str]


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """What a deployment may tune: user rules (checked first), which frames are application code and
    which categories are fixable."""

    user_rules: RuleSet | None = None
    in_app: InAppConfig = DEFAULT_IN_APP
    fmt: str = "auto"
    fingerprinter: Fingerprinter | None = None
    scrub: Callable[[ErrorEvent], ErrorEvent] | None = None  # redaction before classification (ingest)
    fixable_categories: frozenset[str] = DEFAULT_FIXABLE_CATEGORIES


DEFAULT_CONFIG = PipelineConfig()


@dataclass(slots=True)
class BatchResult:
    """Completed events (ordered by ``line_start``), the new state, and line counts of this call."""

    events: list[ErrorEvent]
    state: dict[str, Any]
    lines: int = 0
    plain_lines: int = 0
    error_lines: int = 0
    parsed_lines: int = 0
    units: list[Unit] = field(default_factory=list)


def new_state() -> dict[str, Any]:
    return {"version": STATE_VERSION, "next_index": 0, "assembly": Assembler().state()}


def finish_event(event: ErrorEvent, config: PipelineConfig, fingerprinter: Fingerprinter) -> ErrorEvent:
    """Classify and fingerprint an extracted event (a long message is cut first:
    :mod:`streamfix.core.bounds`)."""
    if len(event.message) > MESSAGE_MAX_CHARS or len(event.log_message or "") > MESSAGE_MAX_CHARS:
        event = replace(event, message=clip(event.message) or "", log_message=clip(event.log_message))
    event = classify(event, config.user_rules, fixable_categories=config.fixable_categories)
    default = fingerprinter(event.error_type, event.frames, event.message or event.log_message or "")
    custom = custom_fingerprint(event, config.user_rules, default)
    return replace(event, fingerprint=custom or default)


def run_batch(
    lines: Sequence[str],
    state: Mapping[str, Any] | None = None,
    *,
    config: PipelineConfig = DEFAULT_CONFIG,
    now: float | None = None,
    quiet_seconds: float | None = None,
    final: bool = False,
    keep_units: bool = False,
) -> BatchResult:
    """Run the error path over ``lines`` (one stream, in order), continuing from ``state``.

    ``now`` (seconds, any clock) stamps the lines for idle detection; with ``quiet_seconds`` units of
    sub-streams quiet that long are flushed as incomplete at the end of the batch. ``final`` flushes
    everything (end of input). ``keep_units`` also returns the assembled units (plain lines included,
    so every input line is accounted for); it disables the prefilter shortcut.
    """
    if state is None:
        state = new_state()
    elif state.get("version") != STATE_VERSION:
        raise ValueError(f"unsupported pipeline state version {state.get('version')!r}")
    base = int(state.get("next_index", 0))
    assembler = Assembler.from_state(state.get("assembly"))
    fingerprinter = config.fingerprinter or fingerprint_event
    fmt = config.fmt
    total = len(lines)
    result = BatchResult(events=[], state={}, lines=total)
    units: list[Unit] = []

    if keep_units:
        for offset, raw in enumerate(lines):
            units.extend(assembler.feed(parse_line(raw, index=base + offset, fmt=fmt), now))
        result.parsed_lines = total
    else:
        hits = list(compress(range(total), map(might_open_error, lines)))
        hit = 0
        offset = 0
        parsed = 0
        skipped = 0
        nhits = len(hits)
        while offset < total:
            if assembler.idle:
                while hit < nhits and hits[hit] < offset:
                    hit += 1
                if hit == nhits:
                    skipped += total - offset
                    break
                skipped += hits[hit] - offset
                offset = hits[hit]
            units.extend(assembler.feed(parse_line(lines[offset], index=base + offset, fmt=fmt), now))
            parsed += 1
            offset += 1
        result.parsed_lines = parsed
        result.plain_lines += skipped

    if final:
        units.extend(assembler.flush())
    elif quiet_seconds is not None and now is not None:
        units.extend(assembler.flush_idle(now, quiet_seconds))

    events: list[ErrorEvent] = []
    for unit in units:
        if unit.is_error:
            result.error_lines += len(unit.lines)
            event = extract(unit, config.in_app)
            if config.scrub is not None:
                event = config.scrub(event)
            events.append(finish_event(event, config, fingerprinter))
        else:
            result.plain_lines += 1
    events.sort(key=lambda e: e.line_start)
    result.events = events
    if keep_units:
        result.units = units
    result.state = {"version": STATE_VERSION, "next_index": base + total, "assembly": assembler.state()}
    return result


def has_open_units(state: Mapping[str, Any] | None) -> bool:
    """True when the stream has a unit (a traceback, say) still waiting for more lines."""
    if not state:
        return False
    assembly = state.get("assembly") or {}
    return bool(assembly.get("streams"))
