"""One stream's whole error path: :func:`~streamfix.core.pipeline.run_batch`, then template grouping.

Errors without a stack are grouped by the template miner over their parameterised messages, so values
the parameterisation rules do not know (user names, hostnames, words) still end up in one pattern. The
miner learns as it goes and sometimes merges two groups; each merge is returned as an alias
``(old fingerprint, new fingerprint)`` so the counts of the old pattern move to the new one.

The state (assembly plus miner) is plain JSON-able data, kept per stream by the ingest agent next to
its idempotence marker, so both always land together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from streamfix.core.fingerprint import fingerprint_event, fingerprint_group, normalize_message
from streamfix.core.models import ErrorEvent
from streamfix.core.pipeline import DEFAULT_CONFIG, PipelineConfig, run_batch
from streamfix.core.templates import TemplateMiner

MINER_MAX_GROUPS = 2000


@dataclass(slots=True)
class StreamResult:
    events: list[ErrorEvent]
    aliases: list[tuple[str, str]]
    state: dict[str, Any]


def _is_custom(event: ErrorEvent) -> bool:
    return event.fingerprint != fingerprint_event(
        event.error_type, event.frames, event.message or event.log_message or ""
    )


def regroup(
    events: Sequence[ErrorEvent], miner_state: Mapping[str, Any] | None
) -> tuple[list[ErrorEvent], list[tuple[str, str]], dict[str, Any] | None]:
    """Give stackless events the fingerprint of their template group; return events, aliases, miner state."""
    stackless = [i for i, e in enumerate(events) if not e.frames and not _is_custom(e)]
    if not stackless:
        return list(events), [], dict(miner_state) if miner_state is not None else None
    if miner_state:
        miner = TemplateMiner.from_state(dict(miner_state))
    else:
        miner = TemplateMiner(max_groups=MINER_MAX_GROUPS, strip_headers=False)
    known = {group.id for group in miner.groups()}
    groups: dict[int, str] = {}
    for i in stackless:
        event = events[i]
        groups[i], _ = miner.add(
            f"{event.error_type} {normalize_message(event.message or event.log_message or '')}"
        )
    out = list(events)
    for i, group in groups.items():
        out[i] = replace(out[i], fingerprint=fingerprint_group(miner.resolve(group)))
    # only groups that existed before this batch can have patterns to move; newer ones were never emitted
    aliases = [(fingerprint_group(old), fingerprint_group(miner.resolve(new)))
               for old, new in miner.take_merges() if old in known]
    return out, aliases, miner.to_state()


def process(
    lines: Sequence[str],
    state: Mapping[str, Any] | None = None,
    *,
    config: PipelineConfig = DEFAULT_CONFIG,
    now: float | None = None,
    quiet_seconds: float | None = None,
    final: bool = False,
) -> StreamResult:
    """Run a batch of one stream's lines, continuing from ``state`` (``None`` at first)."""
    state = state or {}
    result = run_batch(lines, state.get("pipeline"), config=config, now=now, quiet_seconds=quiet_seconds,
                       final=final)
    events, aliases, miner = regroup(result.events, state.get("miner"))
    return StreamResult(events=events, aliases=aliases, state={"pipeline": result.state, "miner": miner})
