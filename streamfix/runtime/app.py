"""The Faust app: broker, store, topics, tables and web server, all from one :class:`Settings`.

``create_app(settings)`` builds a :class:`~streamfix.runtime.shared.StreamfixApp` and registers the
agents it imports from the ``agents`` package and the web views of :mod:`streamfix.web`. Tests build
as many apps as they like, each with its own ``topic_prefix`` and ``app_id``.
``streamfix.runtime.app:app`` is the app built from the environment, for
``faust -A streamfix.runtime.app worker``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import faust

from agents import alert_delivery, alerts, fix_trigger, fixer, group, ingest, liveness
from streamfix.core.records import FIX_STATES, PATTERNS
from streamfix.kafka import codecs, topics
from streamfix.kafka.transport import App as KafkaApp
from streamfix.kafka.views import ChangelogView
from streamfix.runtime import looplag
from streamfix.runtime.settings import Settings, load_settings
from streamfix.runtime.shared import StreamfixApp
from streamfix.web import register_views

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
FETCH_BYTES_PER_PARTITION = 1024 * 1024
"""What one fetch takes from a partition (compressed). Raw batches arrive faster than they are applied
after an outage; a larger fetch only holds more decompressed batches in memory. A record batch larger
than this still comes whole (Fetch v4 and later, all a Kafka 4 broker speaks), so records up to
:data:`MAX_MESSAGE_BYTES` are read as before."""

PRODUCER_LINGER_SECONDS = 0.005
"""How long the worker's producer gathers records (error events, table changes) into one request: Kafka's
own default since 4.0. Each error event writes several records; sent one request each, the requests,
not the records, are what the worker and the broker spend their time on."""


Register = Callable[[StreamfixApp], None]

PIPELINE_AGENTS: tuple[Register, ...] = (
    ingest.register, group.register, fix_trigger.register, alerts.register, alert_delivery.register
)
"""The pipeline: raw batches to error events, patterns and fix requests, and fix results back."""
FIXER_AGENTS: tuple[Register, ...] = (fixer.register,)
"""The fix consumer: fix requests to Claude, git and GitHub, fix results out."""


def _faust_app(settings: Settings) -> faust.App:
    codecs.register()
    return KafkaApp(
        settings.app_id,
        broker=settings.broker,
        store=settings.store,
        datadir=str(settings.data_dir),
        autodiscover=False,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        topic_allow_declare=True,
        processing_guarantee=settings.processing_guarantee,
        broker_session_timeout=settings.broker_session_timeout,
        broker_heartbeat_interval=min(3.0, settings.broker_session_timeout / 3),
        broker_rebalance_timeout=max(30.0, settings.broker_session_timeout * 3),
        consumer_auto_offset_reset="earliest",
        consumer_max_fetch_size=FETCH_BYTES_PER_PARTITION,
        producer_max_request_size=MAX_MESSAGE_BYTES,
        producer_linger=PRODUCER_LINGER_SECONDS,
        stream_wait_empty=False,
        table_cleanup_interval=30.0,
        web_enabled=True,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_in_thread=False,
        web_cors_options=None,
        web_tables_enabled=False,
        web_stats_enabled=False,
        web_graph_enabled=False,
        web_metrics_enabled=False,
    )


def _topics(app: faust.App, settings: Settings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in topics.ALL:
        out[spec.role] = app.topic(
            spec.name(settings),
            partitions=spec.partition_count(settings),
            retention=timedelta(milliseconds=spec.retention_ms),
            compacting=spec.compacted,
            internal=True,  # lets Faust create it with the partitions and retention above
            key_serializer="raw",
            value_serializer="raw" if spec.role == "raw" else "orjson",
        )
    return out


def _published_at(event: Any) -> float:
    """Window time of an error event: when its raw batch was published (the same on every redelivery)."""
    value = event.value if event is not None else None
    if isinstance(value, dict) and isinstance(value.get("published_at"), int | float):
        return float(value["published_at"])
    return float(event.message.timestamp) if event is not None else time.time()


def _tables(app: faust.App, settings: Settings) -> dict[str, Any]:
    partitions = settings.topic_partitions
    schema: Any = faust.Schema(key_type=str, key_serializer="raw", value_serializer="orjson")
    window = timedelta(seconds=settings.window_seconds)
    expires = timedelta(seconds=settings.window_retention_seconds)
    counts: Any = app.Table("counts", default=dict, partitions=partitions, schema=schema).tumbling(
        window, expires=expires
    )
    return {
        # stream -> pipeline state + the raw (partition, offset) last applied (idempotence marker)
        "assembly": app.Table("assembly", default=None, partitions=partitions, schema=schema),
        # fingerprint -> pattern (streamfix.core.patterns); every worker also reads it in full via sf.views
        "patterns": app.Table("patterns", default=None, partitions=partitions, schema=schema),
        # fingerprint -> {"attempt", "status", "updated_at", "request_id"} of its latest fix
        "fix_state": app.Table("fix_state", default=None, partitions=partitions, schema=schema),
        # fingerprint -> {fix_id: latest FixResult}; also in sf.views
        "fixes": app.Table("fixes", default=None, partitions=partitions, schema=schema),
        # fingerprint -> the alerts agent's state: rate model, fired alerts, incident (services.alerts)
        "alert_state": app.Table("alert_state", default=None, partitions=partitions, schema=schema),
        # fingerprint -> {"n": occurrences, "applied": markers} per tumbling window of published time
        "counts": counts.relative_to(_published_at),
    }


def create_app(settings: Settings, *, role: str = "worker") -> StreamfixApp:
    """Build the app, its topics and tables, and register agents and web views.

    ``role="worker"`` runs the pipeline agents (and the fix consumer unless ``fixer_in_worker`` is off);
    ``role="fixer"`` runs only the fix consumer, as its own consumer group (``<app_id>-fixer``).
    """
    if role not in ("worker", "fixer"):
        raise ValueError(f"unknown role {role!r}")
    app_settings = (
        settings if role == "worker" else settings.model_copy(update={"app_id": f"{settings.app_id}-fixer"})
    )
    app = _faust_app(app_settings)
    sf = StreamfixApp(settings=app_settings, app=app, topics=_topics(app, app_settings))
    sf.tables = _tables(app, app_settings)
    # views follow the pipeline's own tables, whichever process this is
    sf.views = {
        "patterns": ChangelogView(settings, "patterns", PATTERNS.decode),
        "fixes": ChangelogView(settings, "fixes"),
        "fix_state": ChangelogView(settings, "fix_state", FIX_STATES.decode),
    }
    for view in sf.views.values():
        app.task(view.run)
    if role == "fixer":
        registers = FIXER_AGENTS
    else:
        registers = PIPELINE_AGENTS + (FIXER_AGENTS if settings.fixer_in_worker else ())
    for register in (*registers, liveness.register):
        register(sf)
    app.task(looplag.run)
    register_views(sf)
    return sf


def __getattr__(name: str) -> Any:
    """``streamfix.runtime.app.app``: the Faust app built from the environment, created on first access."""
    if name == "app":
        global _default
        if _default is None:
            _default = create_app(load_settings())
        return _default.app
    raise AttributeError(name)


_default: StreamfixApp | None = None
