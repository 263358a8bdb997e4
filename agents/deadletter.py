"""Dead letters: input an agent cannot process goes to the dead-letter topic with its reason and bytes."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from streamfix.kafka.wire import DeadLetter
from streamfix.runtime import metrics

if TYPE_CHECKING:
    from streamfix.runtime.app import StreamfixApp

DeadLetterFn = Callable[[str, str, int, int, bytes | None, bytes], Awaitable[None]]


def dead_letter_sender(sf: StreamfixApp, role: str, stage: str) -> DeadLetterFn:
    """An async ``send(reason, detail, partition, offset, key, value)`` for records of topic ``role``."""
    topic = sf.topics["dead_letters"]
    source = sf.topic_name(role)

    async def send(reason: str, detail: str, partition: int, offset: int, key: bytes | None, value: bytes) -> None:
        record = DeadLetter(
            reason=reason, detail=detail[:2000], stage=stage, source_topic=source, partition=partition,
            offset=offset, key_b64=DeadLetter.encode_bytes(key), value_b64=DeadLetter.encode_bytes(value) or "",
            value_size=len(value), received_at=time.time(),
        )
        # delivered before the source offset can be committed: a dead letter is never lost
        await (await topic.send(key=f"{source}:{partition}".encode(), value=record.model_dump(mode="json"),
                                force=True))
        metrics.DEAD_LETTERS.labels(reason=reason).inc()

    return send
