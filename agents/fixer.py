"""The fixer agent: fix requests in, fix results out. All logic is in :mod:`streamfix.fixing.service`.

Consumes the fix-requests topic (keyed by fingerprint) with ``fix_concurrency`` concurrent handlers;
publishes every FixResult state to the fix-results topic (keyed by fingerprint), from which the
fix-results agent derives the ``fix_state`` and ``fixes`` tables. Requests parked while Claude is
unavailable are re-published to the fix-requests topic with a ``streamfix-not-before`` header. A timer
polls open fix PRs every ``fix_track_interval`` seconds.
"""

from __future__ import annotations

import logging
from typing import Any

from streamfix.core.records import PATTERNS, Pattern
from streamfix.errors import WireError
from streamfix.fixing.ports import NOT_BEFORE_HEADER
from streamfix.fixing.revert import Reverter
from streamfix.fixing.service import FixService
from streamfix.kafka.publish import TopicPublisher
from streamfix.kafka.wire import FixRequest, FixResult
from streamfix.runtime.shared import StreamfixApp
from streamfix.services.deadletter import dead_letter_sender, value_bytes

log = logging.getLogger(__name__)


def register(sf: StreamfixApp) -> None:
    settings = sf.settings
    out = TopicPublisher(sf.topics)

    async def publish(result: FixResult) -> None:
        await out.send("fix_results", result.fingerprint, result)

    async def park(request: FixRequest, not_before: float) -> None:
        headers = [(NOT_BEFORE_HEADER, f"{not_before:.3f}".encode())]
        await out.send("fix_requests", request.fingerprint, request, headers=headers)

    base = sf.views.get("fixes") or sf.tables.get("fixes")
    service = FixService.from_settings(settings, publish=publish, park=park, base=base)
    sf.state["fix_service"] = service

    dead_letter = dead_letter_sender(out, sf.topic_name("fix_requests"), "fixer")

    name = f"{settings.app_id}.fixer"

    @sf.app.agent(sf.topics["fix_requests"], name=name, concurrency=settings.fix_concurrency)
    async def fixer(stream: Any) -> None:
        async for event in stream.events():
            try:
                request = FixRequest.from_obj(event.value)
            except WireError as exc:  # the published schema is the contract: a violation is dead-lettered
                partition, offset = int(event.message.partition), int(event.message.offset)
                value = value_bytes(event.value)
                await dead_letter(exc.reason, str(exc), partition, offset, event.key, value)
                continue
            await service.handle_raw(request, headers=event.headers)

    async def track_fix_prs() -> None:
        await service.track()

    sf.app.timer(interval=settings.fix_track_interval, name=f"{settings.app_id}.fix-tracker")(track_fix_prs)

    _register_reverter(sf, service, publish)


def _register_reverter(sf: StreamfixApp, service: FixService, publish: Any) -> None:
    """With ``fix_revert_enabled``: a timer that proposes revert pull requests for merged fixes whose
    errors rise (:mod:`streamfix.fixing.revert`)."""
    settings = sf.settings
    reverter = Reverter.from_settings(settings, store=service.store, publish=publish)
    patterns = sf.views.get("patterns") or sf.tables.get("patterns")
    if reverter is None or patterns is None:
        return

    async def propose_reverts() -> None:
        values = [v for v in list(patterns.values()) if v is not None]
        await reverter.check(v if isinstance(v, Pattern) else PATTERNS.decode(v) for v in values)

    name = f"{settings.app_id}.fix-reverter"
    sf.app.timer(interval=settings.fix_track_interval, name=name)(propose_reverts)
