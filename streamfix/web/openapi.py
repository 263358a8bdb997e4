"""The OpenAPI 3.1 document of the REST API, served at ``/error-monitor/openapi.json``.

Kept true by tests: every documented operation is a registered route and the other way round, and
answers are validated against the response schemas here.
"""

from __future__ import annotations

from typing import Any

from streamfix.core.queries import EPOCH_SUFFIX, is_time_key
from streamfix.kafka.wire import FixResult

PREFIX = "/error-monitor"
SEVERITIES = ["critical", "high", "medium", "low", "info"]
FIX_STATUSES = list(FixResult.model_fields["status"].annotation.__args__)  # type: ignore[union-attr]


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: dict[str, Any], required: list[str] | None = None, *, closed: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props, "required": required or list(props)}
    if closed:
        schema["additionalProperties"] = False
    return schema


STR = {"type": "string"}
NUM = {"type": "number"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
OPT_STR = {"type": ["string", "null"]}
OPT_NUM = {"type": ["number", "null"]}
OPT_INT = {"type": ["integer", "null"]}
STR_LIST = {"type": "array", "items": STR}
TIME = {"type": "string", "format": "date-time", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$",
        "description": "ISO 8601 UTC, second precision; the epoch seconds are in the <name>_epoch field"}
OPT_TIME = {**TIME, "type": ["string", "null"]}


def _timed(props: dict[str, Any]) -> dict[str, Any]:
    """``props`` with each timestamp (:func:`streamfix.core.queries.is_time_key`) as an ISO 8601 string
    followed by its ``<name>_epoch`` number, as :func:`streamfix.core.queries.api_json` writes them."""
    out: dict[str, Any] = {}
    for name, schema in props.items():
        if is_time_key(name) and name != "buckets":
            nullable = "null" in str(schema.get("type", "")) or any(
                option.get("type") == "null" for option in schema.get("anyOf", []))
            out[name] = OPT_TIME if nullable else TIME
            out[f"{name}{EPOCH_SUFFIX}"] = schema
        else:
            out[name] = schema
    return out


def _fix_result_schema() -> dict[str, Any]:
    schema = FixResult.model_json_schema(mode="serialization")
    schema.pop("title", None)
    props = schema["properties"]
    props["severity"] = {**props["severity"], "enum": SEVERITIES}
    props["severity"].pop("default", None)
    schema["properties"] = _timed(props)
    schema["required"] = [
        *schema.get("required", []),
        *(f"{k}{EPOCH_SUFFIX}" for k in schema.get("required", []) if is_time_key(k)),
    ]
    return schema


SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": STR, "detail": {}}),
    "Health": _obj({
        "status": {"const": "healthy"}, "monitoring_enabled": BOOL, "error_patterns_tracked": INT,
        "sources": {"type": "object", "required": ["railway", "loki"], "additionalProperties": _ref("SourceState")},
        "loki_shipping": _ref("LokiShipping"),
    }),
    "SourceState": _obj({
        "configured": {"type": ["boolean", "null"]}, "seen": BOOL, "batches": INT, "lines": INT,
        "last_line_seen": {"type": ["string", "null"], "format": "date-time"}, "last_line_seen_epoch": OPT_NUM,
        "last_batch_received": {"type": ["string", "null"], "format": "date-time"},
        "lag_seconds": OPT_NUM, "last_line_age_seconds": OPT_NUM,
    }),
    "LokiShipping": _obj({
        "enabled": BOOL, "push_url_configured": BOOL, "active": BOOL, "working": {"type": ["boolean", "null"]},
        "records_shipped": INT, "records_dropped": INT,
        "last_push_ok": {"type": ["string", "null"], "format": "date-time"},
        "last_push_failed": {"type": ["string", "null"], "format": "date-time"}, "last_error": OPT_STR,
    }),
    "ErrorObject": _obj(_timed({
        "timestamp": OPT_NUM, "error_type": STR, "message": STR, "category": STR,
        "severity": {"enum": SEVERITIES}, "file": OPT_STR, "line": OPT_INT, "function": OPT_STR,
        "count": INT, "total_count": INT, "fixable": BOOL, "suggested_fix": STR, "fingerprint": STR,
        "first_seen": NUM, "last_seen": NUM, "services": STR_LIST, "status": STR, "title": STR,
    })),
    "ErrorList": {"type": "array", "items": _ref("ErrorObject")},
    "PatternPage": _obj({"patterns": _ref("ErrorList"), "total": INT}),
    "Frame": _obj({"file": STR, "line": OPT_INT, "function": STR, "in_app": BOOL}, ["file"], closed=False),
    "PatternDetail": _obj({
        "error": _ref("ErrorObject"), "traceback": STR, "frames": {"type": "array", "items": _ref("Frame")},
        "incomplete": BOOL, "fix_state": {"type": ["object", "null"]},
        "fixes": {"type": "array", "items": _ref("FixResult")},
    }),
    "Timeline": _obj({
        **_timed({"start": INT, "end": INT}), "bucket_seconds": INT,
        "buckets": {"type": "array", "items": TIME}, "buckets_epoch": {"type": "array", "items": INT},
        "series": {"type": "object", "additionalProperties": {"type": "array", "items": INT}},
    }),
    "Dashboard": _obj({
        **_timed({"timestamp": NUM}),
        "summary": _obj({
            "total_patterns": INT, "critical_errors": INT, "fixable_errors": INT, "generated_fixes": INT,
            "patterns_by_category": {"type": "object", "additionalProperties": INT},
        }),
        "recent_critical": _ref("ErrorList"), "recent_fixable": _ref("ErrorList"),
        "recent_fixes": {"type": "array", "items": _ref("FixResult")},
    }),
    "FixResult": _fix_result_schema(),
    "FixList": _obj({"fixes": {"type": "array", "items": _ref("FixResult")}, "total": INT}),
    "Requested": _obj({"request_id": STR, "fingerprint": STR, "attempt": INT, "category": STR}),
    "FixRequested": _obj({
        "error_id": STR, "kind": {"enum": ["pattern", "category"]}, "create_pr": BOOL,
        "request_ids": STR_LIST, "requested": {"type": "array", "items": _ref("Requested")},
    }),
    "BatchRequested": _obj({
        "create_pr": BOOL, "request_ids": STR_LIST, "requested": {"type": "array", "items": _ref("Requested")},
        "not_found": STR_LIST,
    }),
    "MonitorStarted": _obj({"status": {"enum": ["started", "restarted"]}, "interval": NUM}),
    "ScanDone": _obj({
        "status": {"const": "done"}, "hours": NUM, "auto_fix": BOOL, "lines": INT, "pages": INT, "batches": INT,
        "start_ns": INT, "end_ns": INT, "duration_s": NUM, "query": STR,
    }),
}


def _param(name: str, schema: dict[str, Any], description: str, *, required: bool = False,
           where: str = "query") -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema,
            "description": description}


HOURS = _param("hours", {"type": "number", "exclusiveMinimum": 0, "maximum": 720, "default": 24},
               "Look-back period in hours")


def _limit(default: int, maximum: int) -> dict[str, Any]:
    return _param("limit", {"type": "integer", "minimum": 1, "maximum": maximum, "default": default},
                  "Most items to return")


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR = _ref("Error")
COMMON_ERRORS = {
    "401": _json(ERROR, "Bearer token missing or wrong"),
    "403": _json(ERROR, "The route needs a token and none is configured (set STREAMFIX_API_TOKEN)"),
    "413": _json(ERROR, "Request body too large"),
    "429": {**_json(ERROR, "Rate limited"),
            "headers": {"Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait"}}},
    "500": _json(ERROR, "Unexpected server error (logged)"),
}
PARAM_ERRORS = {"400": _json(ERROR, "Missing parameter"), "422": _json(ERROR, "Invalid parameter")}
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def _op(op_id: str, summary: str, ok: dict[str, Any], *, params: list[dict[str, Any]] | None = None,
        status: str = "200", extra: dict[str, Any] | None = None, secured: bool | None = None) -> dict[str, Any]:
    responses: dict[str, Any] = {status: ok, **COMMON_ERRORS, **(extra or {})}
    if params:
        responses.update(PARAM_ERRORS)
    op: dict[str, Any] = {"operationId": op_id, "summary": summary, "parameters": params or [],
                          "responses": dict(sorted(responses.items()))}
    if secured is not None:
        op["security"] = BEARER if secured else []
    return op


_ANY_CASE = "|".join("".join(f"[{c}{c.upper()}]" for c in name) for name in SEVERITIES)
SEVERITY_PARAM = _param(
    "severity", {"type": "string", "maxLength": 64,
                 "pattern": rf"^ *(?:(?:{_ANY_CASE}) *(?:, *(?:{_ANY_CASE}) *)*)?$"},
    "Only these severities, comma-separated, in any case (critical, HIGH, ...)")


def _error_list_op(op_id: str, summary: str) -> dict[str, Any]:
    return {"get": _op(op_id, summary, _json(_ref("ErrorList"), "Error objects"),
                       params=[HOURS, _limit(100, 1000), SEVERITY_PARAM])}


NOT_FOUND = {"404": _json(ERROR, "Not found")}
PUBLISH = {**NOT_FOUND, "503": {**_json(ERROR, "Kafka did not take the request"),
                                "headers": {"Retry-After": {"schema": {"type": "string"}}}}}
NO_LOKI = {"409": _json(ERROR, "Loki is not configured")}


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document."""
    p = PREFIX
    paths: dict[str, Any] = {
        f"{p}/health": {"get": _op("health", "Liveness, pattern count, log sources seen, Loki shipping",
                                   _json(_ref("Health"), "Healthy"), secured=False)},
        "/metrics": {"get": _op("metrics", "Prometheus metrics", {
            "description": "Text exposition format", "content": {"text/plain": {"schema": STR}}}, secured=False)},
        f"{p}/openapi.json": {"get": _op("openapi", "This document", _json({"type": "object"}, "OpenAPI 3.1"),
                                         secured=False)},
        f"{p}/ui": {"get": _op("ui", "The dashboard page", {
            "description": "HTML page", "content": {"text/html": {"schema": STR}}}, secured=False)},
        f"{p}/ui/{{asset}}": {"get": _op("ui_asset", "A static file of the dashboard page", {
            "description": "CSS or JavaScript", "content": {"text/css": {"schema": STR},
                                                            "text/javascript": {"schema": STR}}},
            params=[_param("asset", {"type": "string", "maxLength": 64}, "File name", where="path")],
            extra=NOT_FOUND, secured=False)},
        f"{p}/errors/recent": _error_list_op("errors_recent", "Patterns seen recently"),
        f"{p}/errors/critical": _error_list_op("errors_critical", "CRITICAL patterns seen recently"),
        f"{p}/errors/fixable": _error_list_op("errors_fixable", "Fixable patterns seen recently"),
        f"{p}/errors/patterns": {"get": _op("errors_patterns", "Every pattern", _json(_ref("PatternPage"), "A page"),
                                            params=[_limit(1000, 10000), _param("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000}, "Skip this many"), _param("category", {"type": "string", "maxLength": 256}, "Only this category"), SEVERITY_PARAM,
                                                    _param("archived", {"enum": ["exclude", "include", "only"], "default": "exclude"}, "Leave out, include, or show only archived patterns"),
                                                    _param("status", {"enum": ["active", "fixed", "regressed", "resolved", "archived"]}, "Only patterns in this lifecycle status")])},
        f"{p}/errors/timeline": {"get": _op("errors_timeline", "Occurrences per category over time",
                                            _json(_ref("Timeline"), "Series"), params=[HOURS])},
        f"{p}/patterns/{{fingerprint}}": {"get": _op(
            "pattern_detail", "One pattern with its sample traceback", _json(_ref("PatternDetail"), "The pattern"),
            params=[_param("fingerprint", {"type": "string", "maxLength": 256}, "Pattern fingerprint", where="path")],
            extra=NOT_FOUND)},
        f"{p}/dashboard": {"get": _op("dashboard", "Dashboard summary", _json(_ref("Dashboard"), "Summary"),
                                      params=[HOURS, _limit(10, 100)])},
        f"{p}/fixes/generated": {"get": _op("fixes_generated", "Every fix", _json(_ref("FixList"), "Fixes"), params=[
            _param("status", {"enum": FIX_STATUSES}, "Only fixes in this state"), _limit(100, 1000)])},
        f"{p}/fixes/effectiveness": {"get": _op(
            "fixes_effectiveness", "Whether merged fixes stopped their patterns, per group and A/B arm",
            _json({"type": "object", "required": ["overall", "by", "ab", "fixes"]}, "The report"),
            params=[_param("ab_by", {"enum": ["category", "error_type", "model", "strategy", "trigger"],
                                     "default": "model"}, "What the A/B arms are")])},
        f"{p}/fixes/{{fix_id}}": {"get": _op(
            "fix_detail", "One fix", _json(_ref("FixResult"), "The fix"),
            params=[_param("fix_id", {"type": "string", "maxLength": 256}, "Fix id", where="path")], extra=NOT_FOUND)},
        f"{p}/fixes/generate-for-error": {"post": _op(
            "fixes_generate_for_error", "Request a fix for a pattern or a category",
            _json(_ref("FixRequested"), "Requests published"), status="202", secured=True, extra=PUBLISH,
            params=[_param("error_id", {"type": "string", "minLength": 1, "maxLength": 256},
                           "A pattern fingerprint, or a category (its fixable patterns)", required=True),
                    _param("create_pr", {"type": "boolean", "default": True}, "Open a pull request")])},
        f"{p}/fixes/generate-batch": {"post": _op(
            "fixes_generate_batch", "Request fixes for several patterns or categories",
            _json(_ref("BatchRequested"), "Requests published"), status="202", secured=True, extra=PUBLISH,
            params=[_param("error_ids", {"type": "string", "minLength": 1, "maxLength": 13000},
                           "Comma-separated fingerprints or categories (at most 50)", required=True),
                    _param("create_prs", {"type": "boolean", "default": True}, "Open pull requests")])},
        f"{p}/alerts": {"get": _op("alerts", "Recent alerts with their delivery status per channel",
                                   _json({"type": "object"}, "Alerts"),
                                   params=[HOURS, _limit(100, 1000)])},
        f"{p}/errors/trends": {"get": _op(
            "errors_trends", "Per pattern: rate, baseline, spike score, trend, forecast, sparkline",
            _json({"type": "object"}, "Trends"), params=[HOURS, _limit(200, 10000)])},
        f"{p}/monitor/start": {"post": _op(
            "monitor_start", "Start the periodic Loki scan in this worker", _json(_ref("MonitorStarted"), "Started"),
            status="202", secured=True, extra=NO_LOKI,
            params=[_param("interval", {"type": "number", "minimum": 10, "maximum": 86400, "default": 300},
                           "Seconds between scans")])},
        f"{p}/monitor/scan": {"post": _op(
            "monitor_scan", "Scan the last hours of Loki once", _json(_ref("ScanDone"), "Scanned"), secured=True,
            extra={**NO_LOKI, "502": _json(ERROR, "Loki failed")},
            params=[_param("hours", {"type": "number", "exclusiveMinimum": 0, "maximum": 168, "default": 1},
                           "Look-back period in hours"),
                    _param("auto_fix", {"type": "boolean", "default": False}, "Allow fix requests for what it finds")])},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "streamfix error monitor API", "version": "1.0.0",
                 "description": "Error patterns, fixes and monitoring of a streamfix worker."},
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "STREAMFIX_API_TOKEN"}},
        },
    }
