"""A pattern's attempts as the fix-results topic records them, for callers outside the worker (the CLI).

The worker numbers attempts from its ``fix_state`` table; a process without that table (``streamfix
fix --report``) reads the fix-results topic instead: every fix state of every attempt is there,
keyed by fingerprint. :func:`last_attempt` reads the topic once from its start to its current end.
"""

from __future__ import annotations

import logging
from contextlib import aclosing

from streamfix.errors import WireError
from streamfix.kafka.clients import read_to_end
from streamfix.kafka.topics import topic_names
from streamfix.kafka.wire import FixResult
from streamfix.runtime.settings import Settings
from streamfix.services.fixes import attempt_of

log = logging.getLogger(__name__)


async def last_attempt(settings: Settings, fingerprint: str) -> int:
    """The highest attempt number on the fix-results topic for ``fingerprint`` (0: none yet)."""
    key = fingerprint.encode("utf-8")
    highest = 0
    records = read_to_end(settings.bootstrap_servers, topic_names(settings)["fix_results"])
    async with aclosing(records):
        async for record in records:
            if record.key == key and record.value is not None:
                try:
                    highest = max(highest, attempt_of(FixResult.loads(record.value)))
                except WireError as exc:
                    log.warning("unreadable fix result skipped", extra={"error": str(exc)})
    return highest
