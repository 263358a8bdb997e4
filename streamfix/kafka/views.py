"""Read views of tables that every worker holds in full, so every worker answers every query alike.

A table is partitioned: each worker owns, and keeps current, only its partitions. For the API, every
worker runs a :class:`ChangelogView` per table: a plain consumer (no consumer group) that reads all
partitions of the table's compacted changelog topic from the beginning and keeps the latest value per
key in a dict. Writes reach every view within :data:`FETCH_WAIT_MS` of the owning worker making them:
a view's fetch is answered once :data:`FETCH_MIN_BYTES` of changes are there or that time has passed,
so under load one fetch carries many writes (not one each), and an idle view costs a few requests a
second, not a busy loop.
(Faust's GlobalTable was measured here to let two workers' copies drift apart under load, so it is
not used.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import orjson
from aiokafka.errors import KafkaError

from streamfix.kafka.clients import new_admin, new_consumer
from streamfix.runtime.settings import Settings

log = logging.getLogger(__name__)

FETCH_WAIT_MS = 100
"""The longest a write waits on the broker before a view's fetch brings it."""
FETCH_MIN_BYTES = 64 * 1024
"""What a view's fetch waits for (compressed bytes) before the broker answers early."""


def changelog_topic(settings: Settings, table: str) -> str:
    """Faust's name for a table's changelog topic."""
    return f"{settings.app_id}-{table}-changelog"


class ChangelogView(Mapping[str, Any]):
    """The latest value of every key of one table, read from its changelog. Read it like a dict."""

    def __init__(self, settings: Settings, table: str, decode: Callable[[bytes], Any] = orjson.loads) -> None:
        """``decode`` turns a changelog value into what the view holds (a typed record, say)."""
        self.settings = settings
        self.table = table
        self.decode = decode
        self.topic = changelog_topic(settings, table)
        self.data: dict[str, Any] = {}
        self.records = 0
        self.ready = asyncio.Event()

    # Mapping ----------------------------------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.data))

    def __len__(self) -> int:
        return len(self.data)

    # feeding -------------------------------------------------------------------------------------------
    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        try:
            decoded_key = orjson.loads(key)
        except orjson.JSONDecodeError:
            decoded_key = key.decode("utf-8", "replace")
        name = str(decoded_key)
        if value is None:
            self.data.pop(name, None)
        else:
            try:
                self.data[name] = self.decode(value)
            except ValueError as exc:  # orjson.JSONDecodeError and RecordError are ValueErrors
                log.warning(
                    "undecodable changelog value skipped", extra={"table": self.table, "error": str(exc)}
                )
        self.records += 1

    async def run(self) -> None:
        """Follow the changelog until cancelled (started by the worker as a background task)."""
        await self._wait_for_topic()
        consumer = new_consumer(
            self.topic, bootstrap_servers=self.settings.bootstrap_servers, group_id=None,
            enable_auto_commit=False, auto_offset_reset="earliest", metadata_max_age_ms=5000,
            fetch_max_wait_ms=FETCH_WAIT_MS, fetch_min_bytes=FETCH_MIN_BYTES,
            max_partition_fetch_bytes=16 * 1024 * 1024,
        )
        await consumer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=5000)
                for records in batches.values():
                    for record in records:
                        self.apply(record.key, record.value)
                if not self.ready.is_set():
                    self.ready.set()
        finally:
            await consumer.stop()

    async def _wait_for_topic(self) -> None:
        """The worker creates changelog topics at start-up; wait until this one exists."""
        admin = new_admin(self.settings.bootstrap_servers)
        await admin.start()
        try:
            while True:
                try:
                    if self.topic in await admin.list_topics():
                        return
                except KafkaError as exc:
                    log.warning("waiting for %s: %s", self.topic, exc)
                await asyncio.sleep(0.2)
        finally:
            await admin.close()
