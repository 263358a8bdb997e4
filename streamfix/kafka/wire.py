"""Wire schemas: the records on streamfix's Kafka topics, a public, versioned interface.

Each record carries ``schema_version``. Readers accept every version up to :data:`SCHEMA_VERSION`
of its record type and reject newer ones with :class:`~streamfix.errors.WireError`, so a consumer
that is older than its producer fails loudly instead of misreading. Additive, optional fields do not
bump the version; a removed or re-typed field does. The JSON Schema files in ``docs/schemas/`` are
generated from these models (``python -m streamfix.kafka.wire docs/schemas``) and a test keeps them equal.

Values are encoded with orjson. Keys are UTF-8 strings (see ``docs/topics.md`` for each topic's key).
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from streamfix.core.formats import Format
from streamfix.core.trace import TRACE_ID_PATTERN
from streamfix.errors import WireError
from streamfix.kafka.schemas import integral_floats_as_ints, version_of

SCHEMA_VERSION = 1


def _trace_field(carried: str) -> Any:
    return Field(None, pattern=TRACE_ID_PATTERN,
                 description=f"Trace id (32 lowercase hex digits, W3C trace-id shape) {carried} (optional)")

FixStatus = Literal[
    "pending",
    "analyzing",
    "fix_generated",
    "fix_invalid",
    "analysis_failed",
    "skipped_budget",
    "skipped_no_api_key",
    "branch_pushed",
    "pr_open",
    "pr_failed",
    "merged",
    "closed",
]
SeverityName = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"]
Trigger = Literal["threshold", "critical", "api", "cli", "scan"]


class WireRecord(BaseModel):
    """Base of every record on a topic."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    topic_role: ClassVar[str] = ""

    @model_validator(mode="before")
    @classmethod
    def _json_integers(cls, data: Any) -> Any:
        return integral_floats_as_ints(cls, data)

    schema_version: int = Field(SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION, description="Version of this record's schema")

    def dumps(self) -> bytes:
        """Encode as compact JSON bytes."""
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_obj(cls: type[_R], obj: Any) -> _R:
        """Validate an already decoded JSON object."""
        if isinstance(obj, bytes | bytearray):  # the topic's codec could not decode it (kafka.codecs)
            raise WireError("invalid_json", f"{cls.__name__}: the value is not a JSON document")
        if isinstance(obj, dict):
            version = version_of(obj)
            if version is not None and version > SCHEMA_VERSION:
                raise WireError("unsupported_schema_version",
                                f"{cls.__name__}.schema_version: v{version} > v{SCHEMA_VERSION}")
        try:  # strict: no "3" for 3, no "yes" for true (the published schemas rule; streamfix.kafka.schemas)
            return cls.model_validate(obj, strict=True)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise WireError("schema_mismatch", f"{cls.__name__}.{where}: {first.get('msg', '')}") from None

    @classmethod
    def loads(cls: type[_R], data: bytes | str) -> _R:
        """Decode JSON bytes and validate them."""
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise WireError("invalid_json", str(exc)) from None
        return cls.from_obj(obj)


_R = TypeVar("_R", bound=WireRecord)


class RawBatch(WireRecord):
    """A batch of raw log lines from one stream. Topic ``<prefix>.logs.raw``, key: ``stream``."""

    topic_role: ClassVar[str] = "raw"

    batch_id: str = Field(..., min_length=1, max_length=256, description="Unique id; used to drop redelivered batches")
    source: str = Field(..., description="railway | loki | file | stdin | replay | bench")
    stream: str = Field(..., min_length=1, max_length=512, description="Assembly key: lines of one process, in order")
    seq: int = Field(0, ge=0, description="Sequence number of this batch within its stream")
    labels: dict[str, str] = Field(default_factory=dict, description="service, deployment, environment, replica, ...")
    format: Format = "auto"
    lines: list[str] = Field(..., description="Lines as received, without their line ending")
    timestamps_ns: list[int] | None = Field(None, description="Per-line timestamps (ns), when the source has them")
    sent_at: float = Field(..., description="Unix time (s) at which the batch was published")
    auto_fix: bool = Field(False, description="Whether fix requests may be made for errors of this source")
    trace_id: str | None = _trace_field("that starts here; when absent, derived from batch_id")


class FrameRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _json_integers(cls, data: Any) -> Any:
        return integral_floats_as_ints(cls, data)

    file: str
    line: int | None = None
    function: str = ""
    in_app: bool = True


class ErrorEventRecord(WireRecord):
    """One error occurrence. Topic ``<prefix>.errors``, key: ``fingerprint``."""

    topic_role: ClassVar[str] = "errors"

    fingerprint: str = Field(..., description="Versioned pattern fingerprint, e.g. fp1:...")
    error_type: str
    message: str
    category: str
    severity: SeverityName
    fixable: bool
    suggested_fix: str = ""
    title: str = ""
    file: str | None = None
    line: int | None = None
    function: str | None = None
    frames: list[FrameRecord] = Field(default_factory=list, description="Innermost frame last")
    traceback: str = Field("", description="The assembled traceback text (may be truncated)")
    incomplete: bool = Field(False, description="The traceback was cut off (end of input or quiet period)")
    logger: str | None = None
    level: str | None = None
    timestamp: float | None = Field(None, description="Unix time (s) of the event's first line")
    service: str | None = None
    deployment: str | None = None
    stream: str = ""
    source: str = ""
    batch_id: str = ""
    line_start: int = Field(0, ge=0, description="Index of the first line within its batch")
    line_end: int = Field(0, ge=0, description="Index of the last line within its batch")
    auto_fix: bool = False
    detected_at: float = Field(..., description="Unix time (s) at which the event was extracted")
    published_at: float | None = Field(None, description="sent_at of the raw batch the event completed in")
    occurrences: int = Field(1, ge=1, description="Identical occurrences folded into this record within one batch")
    source_partition: int = Field(-1, description="Raw-topic partition of the batch the event completed in")
    source_offset: int = Field(-1, description="Raw-topic offset of that batch (idempotence marker)")
    event_index: int = Field(0, ge=0, description="Index of this record among the batch's records")
    via: str | None = Field(None, description="Forwarded from this (merged) fingerprint to its surviving pattern")
    alias_of: str | None = Field(
        None, description="Not an occurrence: announces that pattern `fingerprint` was merged into `alias_of`")
    merged_from: str | None = Field(
        None, description="Not an occurrence: carries the counts of pattern `merged_from` into `fingerprint`")
    windows: dict[str, int] | None = Field(None, description="With merged_from: occurrences per window start (s)")
    first_seen: float | None = Field(None, description="With merged_from: first occurrence of the merged pattern")
    last_seen: float | None = Field(None, description="With merged_from: last occurrence of the merged pattern")
    services: list[str] | None = Field(None, description="With merged_from: services of the merged pattern")
    archive: bool | None = Field(
        None, description="Not an occurrence: pattern `fingerprint` was found quiet for the archive period; "
                          "its owner compacts it (optional)")
    trace_id: str | None = _trace_field("of the raw batch the event completed in")


class FixRequest(WireRecord):
    """A request to analyse and fix one pattern. Topic ``<prefix>.fix-requests``, key: ``fingerprint``."""

    topic_role: ClassVar[str] = "fix_requests"

    request_id: str = Field(..., description="Deterministic: <fingerprint>#<attempt>")
    fingerprint: str
    attempt: int = Field(1, ge=1)
    trigger: Trigger = "threshold"
    category: str
    severity: SeverityName
    error_type: str
    message: str
    file: str | None = None
    line: int | None = None
    function: str | None = None
    frames: list[FrameRecord] = Field(default_factory=list)
    sample_traceback: str = ""
    occurrences: int = Field(0, ge=0)
    first_seen: float | None = None
    last_seen: float | None = None
    services: list[str] = Field(default_factory=list)
    suggested_fix: str = ""
    create_pr: bool = True
    dry_run: bool = False
    requested_at: float
    trace_id: str | None = _trace_field("of the occurrence that led to the request")


class FixResult(WireRecord):
    """The state of one fix. Topic ``<prefix>.fix-results``, key: ``fingerprint``; per fix_id the latest updated_at wins."""

    topic_role: ClassVar[str] = "fix_results"

    fix_id: str
    request_id: str
    fingerprint: str
    status: FixStatus
    category: str = ""
    severity: SeverityName = "MEDIUM"
    error_type: str = ""
    message: str = ""
    branch: str | None = None
    commit_sha: str | None = None
    pr_number: int | None = None
    pr_url: str | None = None
    root_cause: str = ""
    explanation: str = ""
    confidence: float | None = Field(None, ge=0, le=1)
    fixability: float | None = Field(None, ge=0, le=1)
    diff: str = ""
    suggested_fix: str = ""
    error: str = Field("", description="Why the fix stopped (for fix_invalid, *_failed and skipped_* states)")
    input_tokens: int = 0
    output_tokens: int = 0
    created_at: float
    updated_at: float
    attempt: int | None = Field(None, ge=1, description="Attempt number of the request (optional; else from request_id)")
    trigger: Trigger | None = Field(None, description="What asked for the fix (optional)")
    model: str | None = Field(None, description="Model whose analysis became the fix (optional)")
    strategy: str | None = Field(None, description="Prompt strategy (A/B arm) of the analysis (optional)")
    merged_at: float | None = Field(None, description="When the pull request was seen merged (optional)")
    pr_opened_at: float | None = Field(None, description="When the pull request was opened (optional)")
    revert_pr_number: int | None = Field(None, description="The pull request that reverts this merged fix (optional)")
    revert_pr_url: str | None = Field(None, description="Its URL (optional)")
    revert_reason: str | None = Field(None, description="Why the revert was proposed (optional)")
    candidates: list[dict[str, Any]] | None = Field(
        None, description="Every candidate fix with its checks and score, when several models were asked (optional)")
    trace_id: str | None = _trace_field("of the fix request")


class DeadLetter(WireRecord):
    """Input that could not be processed. Topic ``<prefix>.dead-letters``, key: ``<topic>:<partition>``."""

    topic_role: ClassVar[str] = "dead_letters"

    reason: str = Field(..., description="Machine-readable reason, e.g. invalid_json, invalid_utf8, schema_mismatch")
    detail: str = Field("", description="Human-readable detail")
    stage: str = Field("ingest", description="Which agent rejected it")
    source_topic: str
    partition: int
    offset: int
    key_b64: str | None = Field(None, description="The original key, base64")
    value_b64: str = Field(..., description="The original value bytes, base64 (complete, never truncated)")
    value_size: int = Field(..., ge=0)
    received_at: float

    @staticmethod
    def encode_bytes(data: bytes | None) -> str | None:
        return None if data is None else base64.b64encode(data).decode("ascii")

    def original_value(self) -> bytes:
        return base64.b64decode(self.value_b64)


AlertKind = Literal["new_pattern", "regression", "spike", "critical", "fix_opened", "fix_merged", "fix_failed",
                    "resolved", "digest"]


class AlertRecord(WireRecord):
    """An alert about one pattern. Topic ``<prefix>.alerts``, key: ``fingerprint``."""

    topic_role: ClassVar[str] = "alerts"

    alert_id: str = Field(..., min_length=1, max_length=512,
                          description="Deterministic id; the idempotency key of every delivery (with the channel)")
    fingerprint: str
    kind: AlertKind
    action: Literal["trigger", "resolve"] = Field("trigger", description="resolve closes incidents of the pattern")
    rules: list[str] = Field(default_factory=list, description="Names of the rules that fired")
    channels: list[str] = Field(default_factory=list, description="Channels to deliver to (empty: none)")
    severity: SeverityName = "MEDIUM"
    category: str = ""
    title: str = Field("", description="One line, redacted")
    message: str = Field("", description="The pattern's error message, redacted")
    error_type: str = ""
    service: str | None = None
    environment: str | None = None
    count: int = Field(0, ge=0, description="Occurrences of the pattern so far")
    rate: float | None = Field(None, description="Occurrences in the current rate bucket")
    baseline: float | None = Field(None, description="Expected occurrences in that bucket")
    spike_score: float | None = Field(None, description="(rate - baseline) / robust scale")
    trend: Literal["rising", "steady", "falling"] | None = None
    dashboard_url: str | None = Field(None, description="The pattern in the dashboard")
    pr_url: str | None = Field(None, description="The fix pull request, when there is one")
    fix_status: str | None = None
    first_seen: float | None = None
    last_seen: float | None = None
    not_before: float = Field(0.0, description="Deliver no earlier than this Unix time (quiet hours)")
    created_at: float


RECORDS: tuple[type[WireRecord], ...] = (RawBatch, ErrorEventRecord, FixRequest, FixResult, DeadLetter, AlertRecord)


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema (2020-12) of every record, by file name."""
    out: dict[str, dict[str, Any]] = {}
    for record in RECORDS:
        schema = record.model_json_schema(mode="serialization")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://streamfix.dev/schemas/{record.__name__}.v{SCHEMA_VERSION}.json"
        out[f"{record.__name__}.v{SCHEMA_VERSION}.json"] = schema
    return out


def write_json_documents(folder: Path, documents: dict[str, dict[str, Any]]) -> list[Path]:
    """Write each document as ``folder/<name>`` (indented, sorted keys, final newline); the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in documents.items():
        path = folder / name
        path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
        written.append(path)
    return written


def write_schemas(folder: Path) -> list[Path]:
    return write_json_documents(folder, json_schemas())


if __name__ == "__main__":  # pragma: no cover - developer tool
    for written_path in write_schemas(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas")):
        sys.stdout.write(f"{written_path}\n")
