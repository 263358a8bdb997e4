"""Dead letters: input an agent cannot process goes to the dead-letter topic with its reason and bytes."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from streamfix.kafka.publish import Publisher
from streamfix.kafka.wire import DeadLetter
from streamfix.runtime import metrics

DeadLetterFn = Callable[[str, str, int, int, bytes | None, bytes], Awaitable[None]]
"""``send(reason, detail, partition, offset, key, value)``."""


def value_bytes(value: Any) -> bytes:
    """The record's value for a dead letter: as received when it was not JSON, else re-encoded."""
    return bytes(value) if isinstance(value, bytes | bytearray) else orjson.dumps(value)


def dead_letter_sender(out: Publisher, source_topic: str, stage: str) -> DeadLetterFn:
    """An async ``send(reason, detail, partition, offset, key, value)`` for records of ``source_topic``."""

    async def send(
        reason: str, detail: str, partition: int, offset: int, key: bytes | None, value: bytes
    ) -> None:
        record = DeadLetter(
            reason=reason,
            detail=detail[:2000],
            stage=stage,
            source_topic=source_topic,
            partition=partition,
            offset=offset,
            key_b64=DeadLetter.encode_bytes(key),
            value_b64=DeadLetter.encode_bytes(value) or "",
            value_size=len(value),
            received_at=time.time(),
        )
        # delivered before the source offset can be committed: a dead letter is never lost
        await out.send_and_wait("dead_letters", f"{source_topic}:{partition}", record)
        metrics.DEAD_LETTERS.labels(reason=reason).inc()

    return send
