"""Fix results flow back: the fix-results topic (keyed by fingerprint) updates each pattern's fix
state, which the group agent consults before triggering again, and the fixes table the API reads."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from streamfix.errors import WireError
from streamfix.kafka.wire import FixResult
from streamfix.runtime import metrics

if TYPE_CHECKING:
    from streamfix.runtime.app import StreamfixApp

log = logging.getLogger(__name__)


def register(sf: StreamfixApp) -> None:
    fix_state, fixes = sf.tables["fix_state"], sf.tables["fixes"]

    @sf.app.agent(sf.topics["fix_results"], name=f"{sf.settings.app_id}.fix-results")
    async def track(stream: Any) -> None:
        async for value in stream:
            try:
                result = FixResult.from_obj(value)
            except WireError as exc:
                metrics.DEAD_LETTERS.labels(reason=exc.reason).inc()
                log.warning("bad fix result skipped", extra={"reason": exc.reason, "detail": exc.detail})
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
