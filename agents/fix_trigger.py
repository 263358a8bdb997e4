"""The fix-results agent: every fix state from the fix-results topic (keyed by fingerprint) into the
``fixes`` table the API reads and the ``fix_state`` the group agent consults before triggering again.
The work is :func:`streamfix.services.fixes.track_result`."""

from __future__ import annotations

import logging
from typing import Any

from streamfix.errors import WireError
from streamfix.kafka.publish import TopicPublisher
from streamfix.kafka.wire import FixResult
from streamfix.runtime.logs import trace
from streamfix.runtime.shared import StreamfixApp
from streamfix.services.deadletter import dead_letter_sender, value_bytes
from streamfix.services.fixes import track_result

log = logging.getLogger(__name__)


def register(sf: StreamfixApp) -> None:
    fix_state, fixes = sf.tables["fix_state"], sf.tables["fixes"]
    dead_letter = dead_letter_sender(TopicPublisher(sf.topics), sf.topic_name("fix_results"), "fix-results")

    @sf.app.agent(sf.topics["fix_results"], name=f"{sf.settings.app_id}.fix-results")
    async def track(stream: Any) -> None:
        async for event in stream.events():
            value = event.value
            try:
                result = FixResult.from_obj(value)
            except WireError as exc:
                log.warning(
                    "bad fix result to the dead-letter topic",
                    extra={"reason": exc.reason, "detail": exc.detail},
                )
                await dead_letter(
                    exc.reason,
                    str(exc),
                    int(event.message.partition),
                    int(event.message.offset),
                    event.key,
                    value_bytes(value),
                )
                continue
            with trace(result.trace_id):  # the fix's trace id on what is logged for it
                track_result(result, fixes, fix_state)
