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


def track_result(
    result: FixResult, fixes: MutableMapping[str, Any], fix_state: MutableMapping[str, Any]
) -> bool:
    """Record one fix result; False when an older state arrived after a newer one (and was dropped)."""
    fp = result.fingerprint
    history = dict(fixes.get(fp) or {})
    previous = history.get(result.fix_id)
    if previous is not None and float(previous.get("updated_at", 0)) > result.updated_at:
        return False
    history[result.fix_id] = result.model_dump(mode="json")
    fixes[fp] = history
    state = FIX_STATES.decode_optional(fix_state.get(fp))
    if state is None or state.request_id in (None, result.request_id):
        moved = FixState(status=result.status, updated_at=result.updated_at, request_id=result.request_id,
                         fix_id=result.fix_id)
        if state is not None:
            moved = msgspec.structs.replace(moved, attempt=state.attempt)
        fix_state[fp] = FIX_STATES.to_obj(moved)
    return True


def requested_fix(pattern: Pattern, state: FixState | None, trigger: Trigger, now: float, *,
                  create_pr: bool = True) -> FixRequest:
    """The next fix request for ``pattern``: attempt one past its fix state's."""
    request = fix_request_for(pattern, next_attempt(state), trigger, now)
    return request if create_pr else request.model_copy(update={"create_pr": False})
