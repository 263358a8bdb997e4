"""Every topic streamfix uses, with partitions, retention and keys, in one place.

Plain data with no Kafka import, so tailers (aiokafka) and the worker (Faust) share one definition.
``docs/topics.md`` documents the same table for the people who consume these topics.
"""

from __future__ import annotations

from dataclasses import dataclass

from streamfix.runtime.settings import Settings

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    role: str
    suffix: str
    key: str
    value: str
    retention_ms: int
    compacted: bool = False
    partitions: int | None = None  # None: settings.topic_partitions

    def name(self, settings: Settings) -> str:
        return f"{settings.topic_prefix}.{self.suffix}"

    def partition_count(self, settings: Settings) -> int:
        return self.partitions or settings.topic_partitions

    def config(self) -> dict[str, str]:
        cfg = {"retention.ms": str(self.retention_ms)}
        if self.compacted:
            cfg["cleanup.policy"] = "compact"
        return cfg


RAW = TopicSpec("raw", "logs.raw", "stream", "RawBatch", 3 * DAY_MS)
ERRORS = TopicSpec("errors", "errors", "fingerprint", "ErrorEventRecord", 7 * DAY_MS)
FIX_REQUESTS = TopicSpec("fix_requests", "fix-requests", "fingerprint", "FixRequest", 7 * DAY_MS)
FIX_RESULTS = TopicSpec("fix_results", "fix-results", "fingerprint", "FixResult", 30 * DAY_MS)
DEAD_LETTERS = TopicSpec("dead_letters", "dead-letters", "<topic>:<partition>", "DeadLetter", 14 * DAY_MS)
SOURCE_CURSORS = TopicSpec(
    "source_cursors", "source-cursors", "<source>:<stream>", "cursor JSON", 30 * DAY_MS, compacted=True, partitions=1
)

ALERTS = TopicSpec("alerts", "alerts", "fingerprint", "AlertRecord", 30 * DAY_MS)

ALL: tuple[TopicSpec, ...] = (RAW, ERRORS, FIX_REQUESTS, FIX_RESULTS, DEAD_LETTERS, SOURCE_CURSORS, ALERTS)


def topic_names(settings: Settings) -> dict[str, str]:
    """Role → full topic name."""
    return {spec.role: spec.name(settings) for spec in ALL}
