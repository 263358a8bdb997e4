"""Fix results flow back: the fix-results topic (keyed by fingerprint) updates each pattern's fix
state, which the group agent consults before triggering again, and the fixes table the API reads."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from agents.deadletter import dead_letter_sender
from agents.group import value_bytes
from streamfix.errors import WireError
from streamfix.kafka.wire import FixResult

if TYPE_CHECKING:
    from streamfix.runtime.app import StreamfixApp

log = logging.getLogger(__name__)


def register(sf: StreamfixApp) -> None:
    fix_state, fixes = sf.tables["fix_state"], sf.tables["fixes"]
    dead_letter = dead_letter_sender(sf, "fix_results", "fix-results")

    @sf.app.agent(sf.topics["fix_results"], name=f"{sf.settings.app_id}.fix-results")
    async def track(stream: Any) -> None:
        async for event in stream.events():
            value = event.value
            try:
                result = FixResult.from_obj(value)
            except WireError as exc:
                log.warning("bad fix result to the dead-letter topic", extra={"reason": exc.reason,
                                                                             "detail": exc.detail})
                await dead_letter(exc.reason, str(exc), int(event.message.partition), int(event.message.offset),
                                  event.key, value_bytes(value))
                continue
            fp = result.fingerprint
            history = dict(fixes.get(fp) or {})
            previous = history.get(result.fix_id)
            if previous is not None and float(previous.get("updated_at", 0)) > result.updated_at:
                continue  # an older state arriving late
            history[result.fix_id] = result.model_dump(mode="json")
            fixes[fp] = history
            state = fix_state.get(fp)
            if state is None or state.get("request_id") in (None, result.request_id):
                fix_state[fp] = {**(state or {}), "status": result.status, "updated_at": result.updated_at,
                                 "request_id": result.request_id, "fix_id": result.fix_id}
