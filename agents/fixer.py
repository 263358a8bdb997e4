"""The fixer agent: fix requests in, fix results out. All logic is in :mod:`streamfix.fixing.service`.

Consumes the fix-requests topic (keyed by fingerprint) with ``fix_concurrency`` concurrent handlers;
publishes every FixResult state to the fix-results topic (keyed by fingerprint), from which the
fix-results agent derives the ``fix_state`` and ``fixes`` tables. Requests parked while Claude is
unavailable are re-published to the fix-requests topic with a ``streamfix-not-before`` header. A timer
polls open fix PRs every ``fix_track_interval`` seconds.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from agents.deadletter import dead_letter_sender
from agents.group import value_bytes
from streamfix.errors import WireError
from streamfix.fixing.ports import NOT_BEFORE_HEADER
from streamfix.fixing.service import FixService
from streamfix.kafka.wire import FixRequest, FixResult

if TYPE_CHECKING:
    from streamfix.runtime.app import StreamfixApp

log = logging.getLogger(__name__)


def register(sf: StreamfixApp) -> None:
    settings = sf.settings
    requests_topic, results_topic = sf.topics["fix_requests"], sf.topics["fix_results"]

    async def publish(result: FixResult) -> None:
        await results_topic.send(key=result.fingerprint.encode(), value=result.model_dump(mode="json"))

    async def park(request: FixRequest, not_before: float) -> None:
        await requests_topic.send(
            key=request.fingerprint.encode(),
            value=request.model_dump(mode="json"),
            headers={NOT_BEFORE_HEADER: f"{not_before:.3f}".encode()},
        )

    service = FixService.from_settings(settings, publish=publish, park=park, base=sf.views.get("fixes") or sf.tables.get("fixes"))
    sf.state["fix_service"] = service

    dead_letter = dead_letter_sender(sf, "fix_requests", "fixer")

    @sf.app.agent(requests_topic, name=f"{settings.app_id}.fixer", concurrency=settings.fix_concurrency)
    async def fixer(stream: Any) -> None:
        async for event in stream.events():
            try:
                request = FixRequest.from_obj(event.value)
            except WireError as exc:  # the published schema is the contract: a violating request is dead-lettered
                await dead_letter(exc.reason, str(exc), int(event.message.partition), int(event.message.offset),
                                  event.key, value_bytes(event.value))
                continue
            await service.handle_raw(request, headers=event.headers)

    async def track_fix_prs() -> None:
        await service.track()

    sf.app.timer(interval=settings.fix_track_interval, name=f"{settings.app_id}.fix-tracker")(track_fix_prs)
