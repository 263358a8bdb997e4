"""A plain aiokafka loop around :class:`~streamfix.fixing.service.FixService`, for processes that are not
Faust workers (``streamfix fix --consume``-style tools and the integration tests). The Faust worker uses
``agents/fixer.py`` instead; both call the same service.

At-least-once: offsets are committed after the batch they belong to has been handled, so a crash
re-delivers the batch and the service's idempotence (deterministic branch, PR reuse) absorbs it.
Parked requests are re-published to the fix-requests topic with a ``streamfix-not-before`` header.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from streamfix.errors import BrokerError
from streamfix.fixing.ports import NOT_BEFORE_HEADER
from streamfix.fixing.service import FixService
from streamfix.kafka import topics
from streamfix.kafka.clients import Publisher
from streamfix.kafka.wire import FixRequest, FixResult
from streamfix.runtime.settings import Settings

log = logging.getLogger(__name__)


class KafkaFixIO:
    """Publishes fix results and parks fix requests. ``async with KafkaFixIO(settings) as io: ...``."""

    def __init__(self, settings: Settings) -> None:
        self._publisher = Publisher(settings, linger_ms=0)

    async def __aenter__(self) -> KafkaFixIO:
        await self._publisher.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._publisher.__aexit__(exc_type, exc, tb)

    async def publish(self, result: FixResult) -> None:
        await self._publisher.send_and_wait("fix_results", result.fingerprint, result)

    async def park(self, request: FixRequest, not_before: float) -> None:
        headers = [(NOT_BEFORE_HEADER, f"{not_before:.3f}".encode())]
        await self._publisher.send_and_wait("fix_requests", request.fingerprint, request, headers)


async def consume(
    settings: Settings, service: FixService, stop: asyncio.Event, *, group_id: str | None = None
) -> int:
    """Handle fix requests until ``stop`` is set; poll open PRs every ``fix_track_interval``.

    Returns how many requests were handled.
    """
    consumer = AIOKafkaConsumer(
        topics.FIX_REQUESTS.name(settings),
        bootstrap_servers=settings.bootstrap_servers,
        group_id=group_id or f"{settings.app_id}.fixer",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=int(settings.broker_session_timeout * 1000),
        heartbeat_interval_ms=int(min(3.0, settings.broker_session_timeout / 3) * 1000),
    )
    try:
        await consumer.start()
    except KafkaError as exc:
        await consumer.stop()
        raise BrokerError(f"cannot consume from {settings.bootstrap_servers}: {exc}") from exc
    tracker = asyncio.create_task(_track_forever(service, settings.fix_track_interval, stop))
    handled = 0
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200, max_records=settings.fix_concurrency * 4)
            jobs = [
                service.handle_raw(message.value, headers=message.headers)
                for messages in batches.values()
                for message in messages
            ]
            if not jobs:
                continue
            await asyncio.gather(*jobs)
            handled += len(jobs)
            await consumer.commit()
    finally:
        tracker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tracker
        await consumer.stop()
    return handled


async def _track_forever(service: FixService, interval: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
        if stop.is_set():
            return
        try:
            await service.track()
        except Exception:
            log.exception("PR tracking failed; retrying at the next interval")
