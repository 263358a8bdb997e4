"""Prometheus metrics (prometheus-client). Names follow Prometheus conventions: ``_total`` for
counters, base units (seconds, bytes) in the name.

Every metric lives in :data:`REGISTRY`, not in the client's global default registry, so tests and
embedded uses stay isolated; the worker serves it at ``/metrics``. Label values are bounded sets
(categories, severities, statuses, source kinds), never fingerprints or free text.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

# --- ingest -------------------------------------------------------------------------------------------
LINES_INGESTED = Counter(
    "streamfix_lines_ingested_total", "Log lines processed by the ingest agent", ["source"], registry=REGISTRY
)
BATCHES_INGESTED = Counter(
    "streamfix_batches_ingested_total", "Raw batches processed by the ingest agent", registry=REGISTRY
)
BATCHES_DUPLICATE = Counter(
    "streamfix_batches_duplicate_total", "Redelivered raw batches skipped by ingest", registry=REGISTRY
)
RAW_BATCHES_SKIPPED = Counter(
    "streamfix_raw_batches_skipped_total",
    "Raw batches consumed and committed without extraction (monitoring_disabled: ERROR_MONITORING_ENABLED=false)",
    ["reason"], registry=REGISTRY,
)
ERROR_EVENTS_SKIPPED = Counter(
    "streamfix_error_events_skipped_total",
    "Error events consumed and committed without grouping (monitoring_disabled: ERROR_MONITORING_ENABLED=false)",
    ["reason"], registry=REGISTRY,
)
ERROR_EVENTS = Counter(
    "streamfix_error_events_total", "Error events extracted", ["category", "severity"], registry=REGISTRY
)
DEAD_LETTERS = Counter(
    "streamfix_dead_letters_total", "Records sent to the dead-letter topic", ["reason"], registry=REGISTRY
)
CONSUMER_LAG = Gauge(
    "streamfix_consumer_lag_records", "Records past the consumer group's committed offset, per input partition owned",
    ["topic", "partition"], registry=REGISTRY,
)
CONSUMER_STALLS = Counter(
    "streamfix_consumer_stalls_total",
    "Input partitions read again after a stall (records waiting, no commit) or a record never delivered",
    ["topic"], registry=REGISTRY,
)
RECORDS_HELD_BACK = Counter(
    "streamfix_records_held_back_total",
    "Records not applied because one before them on their partition was never delivered (read again later)",
    ["topic"], registry=REGISTRY,
)
PATTERNS = Gauge("streamfix_patterns", "Error patterns tracked (patterns merged into others left out)", registry=REGISTRY)
DETECTION_LATENCY = Histogram(
    "streamfix_detection_latency_seconds",
    "From a raw batch being published until its errors are counted in the patterns table",
    buckets=(0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0,
             10.0, 30.0),
    registry=REGISTRY,
)

# --- fixes --------------------------------------------------------------------------------------------
FIX_REQUESTS = Counter(
    "streamfix_fix_requests_total", "Fix requests emitted", ["trigger", "category"], registry=REGISTRY
)
FIXES = Counter("streamfix_fixes_total", "Fix state transitions, by new status", ["status"], registry=REGISTRY)
PRS_MERGED = Counter("streamfix_prs_merged_total", "Fix pull requests merged", registry=REGISTRY)
FIX_SUCCESS_RATIO = Gauge(
    "streamfix_fix_success_ratio", "Merged fix PRs divided by fix PRs that were merged or closed", registry=REGISTRY
)
REGRESSIONS = Counter(
    "streamfix_regressions_total", "Patterns that came back after a merged fix or from the archive", ["category"],
    registry=REGISTRY,
)
FIX_EFFECTIVE_RATIO = Gauge(
    "streamfix_fix_effective_ratio",
    "Judged merged fixes after which the pattern stopped, divided by judged merged fixes, per group",
    ["by", "value"], registry=REGISTRY,
)
FIX_JUDGED = Gauge(
    "streamfix_fixes_judged", "Merged fixes whose after-merge window has ended, per group", ["by", "value"],
    registry=REGISTRY,
)
REVERT_PRS = Counter("streamfix_revert_prs_total", "Revert pull requests opened for merged fixes", ["reason"],
                     registry=REGISTRY)
CLAUDE_CALLS = Counter("streamfix_claude_calls_total", "Claude API calls", ["outcome"], registry=REGISTRY)
CLAUDE_TOKENS = Counter("streamfix_claude_tokens_total", "Claude tokens used", ["direction"], registry=REGISTRY)
CLAUDE_LATENCY = Histogram(
    "streamfix_claude_request_duration_seconds",
    "Latency of Claude API calls",
    buckets=(0.5, 1, 2, 5, 10, 20, 40, 80, 160),
    registry=REGISTRY,
)
REDACTIONS = Counter("streamfix_redactions_total", "Secrets redacted from outgoing text", ["kind"], registry=REGISTRY)

# --- sources ------------------------------------------------------------------------------------------
SOURCE_LINES = Counter("streamfix_source_lines_total", "Lines read by watchers", ["source"], registry=REGISTRY)
SOURCE_DROPPED = Counter(
    "streamfix_source_dropped_lines_total",
    "Lines lost before they reached streamfix (e.g. Loki dropped_entries) or dropped by a full buffer",
    ["source", "reason"],
    registry=REGISTRY,
)
SOURCE_LAG = Gauge(
    "streamfix_source_lag_seconds", "Age of the newest line a watcher has published", ["source"], registry=REGISTRY
)
SOURCE_RESTARTS = Counter(
    "streamfix_source_restarts_total", "Times a watcher restarted its source", ["source"], registry=REGISTRY
)
LOG_SHIP_DROPPED = Counter(
    "streamfix_log_ship_dropped_total", "streamfix's own log records dropped while Loki was unreachable", registry=REGISTRY
)

# --- API ----------------------------------------------------------------------------------------------
API_REQUESTS = Counter(
    "streamfix_api_requests_total", "REST API requests", ["route", "status"], registry=REGISTRY
)
API_LATENCY = Histogram(
    "streamfix_api_request_duration_seconds",
    "REST API latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
    registry=REGISTRY,
)


def exposition() -> bytes:
    """The text exposition format of :data:`REGISTRY`."""
    return generate_latest(REGISTRY)


UNDECODABLE_RECORDS = Counter(
    "streamfix_undecodable_records_total",
    "Records of batches the consumer could not decode (each batch is dead-lettered once, with its first record)",
    ["reason"], registry=REGISTRY,
)
BATCHES_REROUTED = Counter(
    "streamfix_batches_rerouted_total",
    "Raw batches that arrived on another partition than murmur2(stream) and were forwarded there",
    registry=REGISTRY,
)
EVENT_LOOP_LAG = Histogram(
    "streamfix_event_loop_lag_seconds", "How late the event loop ran a timer that was due (one sample per 0.1 s)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0), registry=REGISTRY,
)
EVENT_LOOP_LAG_MAX = Gauge(
    "streamfix_event_loop_lag_max_seconds", "Largest event-loop lag of the last 10 seconds", registry=REGISTRY,
)

ALERTS_FIRED = Counter("streamfix_alerts_fired_total", "Alerts published, by kind", ["kind"], registry=REGISTRY)
ALERTS_DELIVERED = Counter(
    "streamfix_alerts_delivered_total", "Alerts delivered, by channel", ["channel"], registry=REGISTRY
)
ALERT_DELIVERY_FAILURES = Counter(
    "streamfix_alert_delivery_failures_total", "Alert deliveries parked or refused, by channel and reason",
    ["channel", "reason"], registry=REGISTRY,
)
