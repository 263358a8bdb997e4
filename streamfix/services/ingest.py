"""Ingest: one raw batch in, its error events out, and the stream's assembly state kept.

:func:`apply_batch` is what the ingest agent calls per record of the raw topic (:func:`ingest_batch`
also waits for the batch's error records and writes its marker, one batch at a time). Per stream it keeps
the core pipeline's state in the ``assembly`` table, so a traceback split across batches, or across
a restart, is still assembled whole. The same table value records the raw offset last applied and the
batch ids seen recently (:mod:`streamfix.core.dedupe`), which makes a redelivered or re-sent batch a
no-op. The clock of the quiet-period flush is the batch's event time (its newest line timestamp, else
its ``sent_at``; :mod:`streamfix.core.eventtime`), so reprocessing a batch gives exactly the same events
and a source outage does not cut a traceback. :func:`quiet_ticks` makes the empty "tick" batches that
flush a stream silent for ``STREAMFIX_ASSEMBLY_IDLE_FLUSH_SECONDS`` of wall-clock time with a unit open.
With ``ERROR_MONITORING_ENABLED=false`` a decoded batch is only counted
(``streamfix_raw_batches_skipped_total{reason="monitoring_disabled"}``): its offset is committed as usual,
nothing is extracted or published, and the stream's assembly state is left as it was.
"""

from __future__ import annotations

import asyncio
import logging
import time
import tomllib
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from streamfix.core.classify import load_rules
from streamfix.core.dedupe import DedupeWindow, remember, seen
from streamfix.core.eventtime import batch_clock
from streamfix.core.extract import DEFAULT_IN_APP, InAppConfig
from streamfix.core.pipeline import PipelineConfig, has_open_units
from streamfix.core.stream import process
from streamfix.errors import ConfigError, WireError
from streamfix.kafka.clients import stream_partition
from streamfix.kafka.poison import undecodable
from streamfix.kafka.publish import Publisher
from streamfix.kafka.wire import RawBatch
from streamfix.runtime import metrics
from streamfix.runtime.logs import log_fields, trace
from streamfix.runtime.redaction import ingest_scrubber
from streamfix.runtime.settings import Settings
from streamfix.services.convert import (
    alias_records,
    batch_trace_id,
    event_record,
    fold_by_fingerprint,
    render_traceback,
)
from streamfix.services.inorder import NOTHING, Outcome
from streamfix.services.offload import run_core
from streamfix.services.sourcestate import SourceRegistry

DeadLetterFn = Callable[[str, str, int, int, bytes | None, bytes], Awaitable[None]]
"""``dead_letter(reason, detail, partition, offset, key, value)``, see :mod:`streamfix.services.deadletter`."""  # noqa: E501


def pipeline_config(settings: Settings) -> PipelineConfig:
    """User rules, in-app paths and fixable categories from settings (read once, when the worker starts)."""
    rules = None
    if settings.rules_file is not None:
        try:
            rules = load_rules(tomllib.loads(settings.rules_file.read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError, ValueError) as exc:
            raise ConfigError(f"rules file {settings.rules_file}: {exc}") from exc
    in_app = DEFAULT_IN_APP
    if settings.in_app_exclude:
        in_app = InAppConfig(not_app=(*DEFAULT_IN_APP.not_app, *settings.in_app_exclude))
    return PipelineConfig(user_rules=rules, in_app=in_app, scrub=ingest_scrubber(settings),
                          fixable_categories=frozenset(settings.fixable_categories))


@dataclass(frozen=True, slots=True)
class IngestConfig:
    pipeline: PipelineConfig
    quiet_seconds: float
    max_line_bytes: int
    dedupe: DedupeWindow
    idle_flush_seconds: float
    monitoring_enabled: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestConfig:
        return cls(
            pipeline_config(settings),
            settings.assembly_quiet_seconds,
            settings.max_line_bytes,
            DedupeWindow(settings.dedupe_window_seconds, settings.dedupe_max_ids),
            max(settings.assembly_quiet_seconds, settings.assembly_idle_flush_seconds),
            settings.error_monitoring_enabled,
        )


log = logging.getLogger(__name__)

Reroute = Callable[[str, int, bytes], Awaitable[None]]
"""``reroute(stream, partition, value)``: put a raw record on the partition that owns its stream."""


def decode_batch(value: Any) -> RawBatch:
    if not isinstance(value, bytes | bytearray):
        raise WireError("invalid_value", f"expected bytes, got {type(value).__name__}")
    data = bytes(value)
    try:
        return RawBatch.loads(data)  # orjson rejects invalid UTF-8 too; only then is it looked at again
    except WireError as exc:
        if exc.reason == "invalid_json":
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as bad:
                raise WireError("invalid_utf8", str(bad)) from None
        raise


async def _keep_short_lines(batch: RawBatch, max_line: int, reject: Callable[[str, bytes], Awaitable[None]]
                            ) -> list[str]:
    lines = batch.lines
    if not any(len(line) > max_line // 4 for line in lines):  # cheap pre-check before encoding
        return lines
    kept = []
    for number, line in enumerate(lines):
        data = line.encode("utf-8", "surrogatepass")
        if len(data) > max_line:
            await reject(f"line {number} of batch {batch.batch_id}", data)
        else:
            kept.append(line)
    return kept


async def ingest_batch(
    value: Any, key: bytes | None, partition: int, offset: int, *, assembly: MutableMapping[str, Any],
    **options: Any,
) -> None:
    """Apply one raw-topic record and finish it: :func:`apply_batch` (``options`` are its keyword
    arguments), then wait for its error records to be acknowledged and write the stream's marker (what
    :class:`~streamfix.services.inorder.InOrder` does for the ingest agent without holding up the next
    batch)."""
    outcome = await apply_batch(value, key, partition, offset, assembly=assembly, **options)
    if outcome.sends:
        await asyncio.gather(*outcome.sends)
    write_marker(assembly, outcome)


def write_marker(assembly: MutableMapping[str, Any], outcome: Outcome) -> None:
    """Record that the outcome's batch is applied (its error records are on the broker by now)."""
    if outcome.stream is not None and outcome.marker is not None:
        assembly[outcome.stream] = outcome.marker


async def apply_batch(
    value: Any, key: bytes | None, partition: int, offset: int, *, assembly: Mapping[str, Any],
    config: IngestConfig, out: Publisher, dead_letter: DeadLetterFn, clock: Callable[[], float] = time.time,
    headers: Any = None, raw_partitions: int | None = None, reroute: Reroute | None = None,
    sources: SourceRegistry | None = None,
) -> Outcome:
    """Apply one raw-topic record: decode, assemble, send the error events; returns what is left to do.

    ``assembly`` is read for the stream's newest state (for the ingest agent: the in-memory state of
    batches applied but not yet finished, else the table). The returned :class:`Outcome` carries the
    sends' futures and the stream's new marker, to be written only once the sends are acknowledged:
    a marker on the broker says "this batch's events are there" (the events must be on the broker
    before the marker that says "batch applied" can be; a crash in between redelivers the batch and the
    group agent drops the repeated events).

    ``headers`` are the record's (a batch the consumer could not decompress is marked there, see
    :mod:`streamfix.kafka.poison`); with ``raw_partitions`` and ``reroute``, a batch that arrived on a
    partition other than its stream's murmur2 home (a producer with another partitioner) is moved there.
    ``sources`` counts every batch consumed here per source kind (for the health route).
    """
    value = value if value is not None else b""
    if (bad := undecodable(headers, offset)) is not None:  # a batch the consumer could not decode
        if bad.carries_bytes:
            await dead_letter(bad.reason, f"offsets {bad.first_offset}-{bad.last_offset}: {bad.detail}",
                              partition, offset, None, bytes(value))
        metrics.UNDECODABLE_RECORDS.labels(reason=bad.reason).inc()
        return NOTHING
    try:
        batch = decode_batch(value)
    except WireError as exc:
        await dead_letter(exc.reason, exc.detail, partition, offset, key, bytes(value))
        return NOTHING
    if not config.monitoring_enabled:  # consumed (the offset is committed), nothing extracted
        if sources is not None:
            sources.record(batch, clock())
        metrics.RAW_BATCHES_SKIPPED.labels(reason="monitoring_disabled").inc()
        return NOTHING
    with trace(batch_trace_id(batch)):  # every line logged for this batch carries its trace id
        if raw_partitions and reroute is not None:
            home = stream_partition(batch.stream, raw_partitions)
            if partition != home:  # not where a murmur2 producer puts the stream: its state lives there
                await reroute(batch.stream, home, bytes(value))
                metrics.BATCHES_REROUTED.inc()
                return NOTHING
        previous = assembly.get(batch.stream)
        if previous is not None and (
            (previous["partition"] == partition and previous["offset"] >= offset)
            or seen(previous.get("batch_ids"), batch.batch_id)
        ):
            metrics.BATCHES_DUPLICATE.inc()
            return NOTHING
        if sources is not None:
            sources.record(batch, clock())
        return await _apply(batch, previous, key, bytes(value), partition, offset, config=config, out=out,
                            dead_letter=dead_letter, clock=clock)


async def _apply(
    batch: RawBatch, previous: Mapping[str, Any] | None, key: bytes | None, value: bytes, partition: int,
    offset: int, *,
    config: IngestConfig, out: Publisher, dead_letter: DeadLetterFn, clock: Callable[[], float],
) -> Outcome:
    async def too_long(detail: str, data: bytes) -> None:
        await dead_letter("line_too_long", detail, partition, offset, key, data)

    lines = await _keep_short_lines(batch, config.max_line_bytes, too_long)
    result = await run_core(
        process,
        lines,
        previous["state"] if previous else None,
        config=config.pipeline,
        now=batch_clock(batch.timestamps_ns, batch.sent_at, tick=batch.source == "tick"),
        quiet_seconds=config.quiet_seconds,
    )
    detected_at = clock()
    records = [
        event_record(found, batch=batch, partition=partition, offset=offset, index=index,
                     occurrences=occurrences, detected_at=detected_at, traceback=render_traceback(found))
        for index, (found, occurrences) in enumerate(fold_by_fingerprint(result.events))
    ]
    records += alias_records(result.aliases, records, batch=batch, partition=partition, offset=offset,
                             detected_at=detected_at)
    sends = []
    for record in records:
        sends.append(await out.send("errors", record.fingerprint, record))
        if record.alias_of is None:
            metrics.ERROR_EVENTS.labels(category=record.category, severity=record.severity).inc(
                record.occurrences
            )
    batch_ids = previous.get("batch_ids") if previous else None
    if batch.source != "tick":
        batch_ids = remember(batch_ids, batch.batch_id, batch.sent_at, config.dedupe)
    marker = {"state": result.state, "partition": partition, "offset": offset, "sent_at": batch.sent_at,
              "labels": batch.labels, "source": batch.source, "batch_ids": batch_ids}
    metrics.LINES_INGESTED.labels(source=batch.source).inc(len(batch.lines))
    metrics.BATCHES_INGESTED.inc()
    log.log(logging.INFO if records else logging.DEBUG, "raw batch applied",
            extra=log_fields(batch_id=batch.batch_id, stream=batch.stream, events=len(records)))

    async def failed(exc: BaseException) -> None:  # the broker refused an error record for good
        log.error("error records of raw batch %s were not delivered: %s", batch.batch_id, exc)
        await dead_letter("processing_error", f"error records not delivered: {type(exc).__name__}: {exc}",
                          partition, offset, key, value)

    return Outcome(sends=sends, stream=batch.stream, marker=marker, on_failure=failed)


def quiet_ticks(assembly: MutableMapping[str, Any], now: float, idle_seconds: float) -> list[RawBatch]:
    """An empty "tick" batch for every stream silent for ``idle_seconds`` of wall-clock time with a unit
    still open (not just a source outage), so the agent that owns the stream flushes it (as incomplete),
    in order, through the raw topic."""
    ticks = []
    for stream_key, value in list(assembly.items()):
        if not value or not has_open_units((value.get("state") or {}).get("pipeline")):
            continue
        if now - float(value.get("sent_at", now)) < idle_seconds:
            continue
        ticks.append(
            RawBatch(
                batch_id=f"tick:{stream_key}:{int(now * 1000)}",
                source="tick",
                stream=stream_key,
                labels=value.get("labels") or {},
                lines=[],
                sent_at=now,
            )
        )
    return ticks
