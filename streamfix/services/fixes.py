"""Fix bookkeeping: fix results into the ``fixes`` and ``fix_state`` tables, and fix requests on demand.

The fix-results topic (keyed by fingerprint) carries every state of every fix. :func:`track_result`
keeps the latest state per fix id in ``fixes`` and moves the pattern's :class:`FixState`, which the
group agent consults before triggering again. :func:`requested_fix` is the request the API (or any
other caller) makes for a pattern.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import msgspec

from streamfix.core.records import FIX_STATES, FixState, Pattern
from streamfix.core.trigger import next_attempt
from streamfix.kafka.wire import FixRequest, FixResult, Trigger
from streamfix.services.convert import fix_request_for


def attempt_of(result: FixResult) -> int:
    """The attempt a fix result belongs to: its ``attempt`` field, else the ``#N`` of its request id."""
    if result.attempt is not None:
        return result.attempt
    _, _, tail = result.request_id.rpartition("#")
    return int(tail) if tail.isdigit() and int(tail) > 0 else 1


def track_result(
    result: FixResult, fixes: MutableMapping[str, Any], fix_state: MutableMapping[str, Any]
) -> bool:
    """Record one fix result; False when an older state arrived after a newer one (and was dropped).

    Every attempt keeps its own entry in the pattern's history (fix ids differ per attempt). The fix
    state follows the pattern's latest attempt, whoever requested it (the group agent, the API or the
    CLI), and always carries the attempt number, so the next request is one past it; it remembers
    when the latest merged fix merged.
    """
    fp = result.fingerprint
    history = dict(fixes.get(fp) or {})
    previous = history.get(result.fix_id)
    if previous is not None and float(previous.get("updated_at", 0)) > result.updated_at:
        return False
    history[result.fix_id] = result.model_dump(mode="json")
    fixes[fp] = history
    state = FIX_STATES.decode_optional(fix_state.get(fp))
    attempt = attempt_of(result)
    if state is None or state.request_id in (None, result.request_id) or attempt > state.attempts:
        merged_at: float | msgspec.UnsetType = msgspec.UNSET if state is None else state.merged_at
        if result.status == "merged":
            merged_at = result.merged_at if result.merged_at is not None else result.updated_at
        moved = FixState(
            attempt=max(attempt, 0 if state is None else state.attempts),
            status=result.status,
            updated_at=result.updated_at,
            request_id=result.request_id,
            fix_id=result.fix_id,
            merged_at=merged_at,
        )
        fix_state[fp] = FIX_STATES.to_obj(moved)
    return True


def requested_fix(
    pattern: Pattern, state: FixState | None, trigger: Trigger, now: float, *, create_pr: bool = True
) -> FixRequest:
    """The next fix request for ``pattern``: attempt one past its fix state's."""
    request = fix_request_for(pattern, next_attempt(state), trigger, now)
    return request if create_pr else request.model_copy(update={"create_pr": False})
