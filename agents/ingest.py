"""The ingest agent: raw batches in, error events out, bad input to the dead-letter topic.

Per stream it keeps the core pipeline's assembly state in the ``assembly`` table, so a traceback split
across batches, or across a restart, is still assembled whole. The same table value records the raw
offset last applied, which makes a redelivered batch a no-op. The clock of the quiet-period flush is
the batch's event time (its newest line timestamp, else its ``sent_at``; :mod:`streamfix.core.eventtime`),
so reprocessing a batch gives exactly the same events and a source outage does not cut a traceback. A
stream silent for ``STREAMFIX_ASSEMBLY_IDLE_FLUSH_SECONDS`` of wall-clock time gets a tick that flushes
what is open.
"""

from __future__ import annotations

import asyncio
import logging
import time
import tomllib
from typing import TYPE_CHECKING, Any

from aiokafka.partitioner import murmur2

from agents.deadletter import dead_letter_sender
from agents.liveness import liveness_for
from streamfix.core.classify import load_rules
from streamfix.core.dedupe import DedupeWindow, remember, seen
from streamfix.core.eventtime import batch_clock
from streamfix.core.extract import DEFAULT_IN_APP, InAppConfig
from streamfix.core.pipeline import PipelineConfig, has_open_units
from streamfix.core.stream import process
from streamfix.errors import ConfigError, WireError
from streamfix.kafka.poison import undecodable
from streamfix.kafka.wire import RawBatch
from streamfix.runtime import metrics
from streamfix.runtime.settings import Settings
from streamfix.services.convert import alias_records, event_record, fold_by_fingerprint, render_traceback
from streamfix.services.offload import run_core

if TYPE_CHECKING:
    from streamfix.runtime.app import StreamfixApp

log = logging.getLogger(__name__)


def pipeline_config(settings: Settings) -> PipelineConfig:
    """User rules and in-app paths from settings (read once, when the worker starts)."""
    rules = None
    if settings.rules_file is not None:
        try:
            rules = load_rules(tomllib.loads(settings.rules_file.read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError, ValueError) as exc:
            raise ConfigError(f"rules file {settings.rules_file}: {exc}") from exc
    in_app = DEFAULT_IN_APP
    if settings.in_app_exclude:
        in_app = InAppConfig(not_app=(*DEFAULT_IN_APP.not_app, *settings.in_app_exclude))
    return PipelineConfig(user_rules=rules, in_app=in_app)


def decode_batch(value: Any) -> RawBatch:
    if not isinstance(value, bytes | bytearray):
        raise WireError("invalid_value", f"expected bytes, got {type(value).__name__}")
    try:
        bytes(value).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireError("invalid_utf8", str(exc)) from None
    return RawBatch.loads(bytes(value))


def stream_partition(stream: str, partitions: int) -> int:
    """The raw partition of a stream: murmur2 of its key, as Java clients, aiokafka and Faust place it."""
    return int(murmur2(stream.encode("utf-8", "surrogatepass")) & 0x7FFFFFFF) % partitions


def register(sf: StreamfixApp) -> None:
    settings = sf.settings
    assembly = sf.tables["assembly"]
    errors_topic = sf.topics["errors"]
    config = pipeline_config(settings)
    max_line = settings.max_line_bytes

    dead_letter = dead_letter_sender(sf, "raw", "ingest")
    window = DedupeWindow(settings.dedupe_window_seconds, settings.dedupe_max_ids)
    raw_partitions = sf.topics["raw"].partitions or settings.topic_partitions

    async def handle(event: Any) -> None:
        msg = event.message
        partition, offset = int(msg.partition), int(msg.offset)
        value = event.value if event.value is not None else b""
        if (bad := undecodable(msg.headers, offset)) is not None:  # a batch the consumer could not decode
            if bad.carries_bytes:
                await dead_letter(bad.reason, f"offsets {bad.first_offset}-{bad.last_offset}: {bad.detail}",
                                  partition, offset, None, bytes(value))
            metrics.UNDECODABLE_RECORDS.labels(reason=bad.reason).inc()
            return
        try:
            batch = decode_batch(value)
        except WireError as exc:
            await dead_letter(exc.reason, exc.detail, partition, offset, event.key, bytes(value))
            return
        home = stream_partition(batch.stream, raw_partitions)
        if partition != home:  # not where a murmur2 producer puts the stream: its state lives there
            await (await sf.topics["raw"].send(key=batch.stream.encode(), value=bytes(value), partition=home,
                                               force=True))
            metrics.BATCHES_REROUTED.inc()
            return
        previous = assembly.get(batch.stream)
        if previous is not None and ((previous["partition"] == partition and previous["offset"] >= offset)
                                     or seen(previous.get("batch_ids"), batch.batch_id)):
            metrics.BATCHES_DUPLICATE.inc()
            return
        lines = batch.lines
        if any(len(line) > max_line // 4 for line in lines):  # cheap pre-check before encoding
            kept = []
            for number, line in enumerate(lines):
                if len(line.encode("utf-8", "surrogatepass")) > max_line:
                    await dead_letter("line_too_long", f"line {number} of batch {batch.batch_id}",
                                      partition, offset, event.key, line.encode("utf-8", "surrogatepass"))
                else:
                    kept.append(line)
            lines = kept
        clock = batch_clock(batch.timestamps_ns, batch.sent_at, tick=batch.source == "tick")
        result = await run_core(process, lines, previous["state"] if previous else None, config=config,
                                now=clock, quiet_seconds=settings.assembly_quiet_seconds)
        detected_at = time.time()
        pending = []
        records = [
            event_record(found, batch=batch, partition=partition, offset=offset, index=index,
                         occurrences=occurrences, detected_at=detected_at, traceback=render_traceback(found))
            for index, (found, occurrences) in enumerate(fold_by_fingerprint(result.events))
        ]
        records += alias_records(result.aliases, records, batch=batch, partition=partition, offset=offset,
                                 detected_at=detected_at)
        for record in records:
            pending.append(await errors_topic.send(key=record.fingerprint.encode(),
                                                   value=record.model_dump(mode="json"), force=True))
            if record.alias_of is None:
                metrics.ERROR_EVENTS.labels(category=record.category, severity=record.severity).inc(
                    record.occurrences)
        # The events must be on the broker before the marker that says "batch applied" can be.
        # A crash in between redelivers the batch; the group agent drops the repeated events.
        if pending:
            await asyncio.gather(*pending)
        batch_ids = previous.get("batch_ids") if previous else None
        if batch.source != "tick":
            batch_ids = remember(batch_ids, batch.batch_id, batch.sent_at, window)
        assembly[batch.stream] = {"state": result.state, "partition": partition, "offset": offset,
                                  "sent_at": batch.sent_at, "labels": batch.labels, "source": batch.source,
                                  "batch_ids": batch_ids}
        metrics.LINES_INGESTED.labels(source=batch.source).inc(len(batch.lines))
        metrics.BATCHES_INGESTED.inc()

    raw_topic = sf.topics["raw"]
    quiet = settings.assembly_quiet_seconds
    idle_flush = max(quiet, settings.assembly_idle_flush_seconds)

    async def flush_quiet_streams() -> None:
        """A stream that went quiet in the middle of a traceback gets an empty "tick" batch through the
        raw topic, so the unit is flushed (as incomplete) in order, by the agent that owns the stream."""
        now = time.time()
        for stream_key, value in list(assembly.items()):
            if not value or not has_open_units((value.get("state") or {}).get("pipeline")):
                continue
            if now - float(value.get("sent_at", now)) < idle_flush:  # silent that long: not just an outage
                continue
            tick = RawBatch(batch_id=f"tick:{stream_key}:{int(now * 1000)}", source="tick", stream=stream_key,
                            labels=value.get("labels") or {}, lines=[], sent_at=now)
            await raw_topic.send(key=stream_key.encode(), value=tick.dumps())

    sf.app.timer(interval=max(0.5, quiet / 2))(flush_quiet_streams)

    live = liveness_for(sf)

    @sf.app.agent(sf.topics["raw"], name=f"{settings.app_id}.ingest")
    async def ingest(stream: Any) -> None:
        async for event in stream.events():
            if not await live.admit(event):  # an earlier record was never delivered: read again first
                continue
            try:
                await handle(event)
            except Exception as exc:  # one bad record must never stop the agent
                log.exception("raw batch could not be processed")
                value = event.value if isinstance(event.value, bytes) else b""
                await dead_letter("processing_error", f"{type(exc).__name__}: {exc}", int(event.message.partition),
                                  int(event.message.offset), event.key, value)
