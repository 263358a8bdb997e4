"""The fix-results agent: every fix state from the fix-results topic (keyed by fingerprint) into the
``fixes`` table the API reads and the ``fix_state`` the group agent consults before triggering again.
The work is :func:`streamfix.services.fixes.track_result`."""

from __future__ import annotations

import logging
from typing import Any

from streamfix.errors import WireError
from streamfix.kafka.wire import FixResult
from streamfix.runtime import metrics
from streamfix.runtime.shared import StreamfixApp
from streamfix.services.fixes import track_result

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
            track_result(result, fixes, fix_state)
