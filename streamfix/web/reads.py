"""Read routes: health, /metrics, error lists, patterns, the dashboard summary, the timeline, fixes.

Each answer is computed by :mod:`streamfix.core.queries` over the tables' values, redacted (secrets and
PII, whatever was stored before ingest scrubbing), and kept for ``api_cache_seconds``, so many clients
polling the same view cost one computation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from streamfix.core import lifecycle, queries
from streamfix.core.patterns import public_view
from streamfix.core.records import FIX_STATES, Pattern
from streamfix.kafka.wire import FixStatus
from streamfix.runtime import metrics
from streamfix.runtime.redaction import scrub_tree
from streamfix.runtime.settings import Settings
from streamfix.runtime.shared import StreamfixApp
from streamfix.runtime.shiplogs import LokiShipHandler, installed_shipper, shipping_state
from streamfix.services.grouping import lifecycle_policy
from streamfix.services.sourcestate import iso, source_registry, sources_health
from streamfix.web import effectiveness, http
from streamfix.web.context import ApiContext
from streamfix.web.routing import mount

MAX_HOURS = 720.0
Snapshot = tuple[list[Pattern], list[Any]]
CRITICAL = frozenset({"CRITICAL"})
FIX_STATUSES: frozenset[str] = frozenset(get_args(FixStatus))


def status_reader(ctx: ApiContext) -> Callable[[Pattern], str]:
    """A pattern's lifecycle status now, from its record and its fix state."""
    policy = lifecycle_policy(ctx.settings)
    now = ctx.clock()
    return lambda p: lifecycle.status_of(p, ctx.reader.fix_state(p.fingerprint), now, policy)


def shipping_health(settings: Settings, shipper: LokiShipHandler | None) -> dict[str, Any]:
    """:func:`~streamfix.runtime.shiplogs.shipping_state` with its times as ISO 8601 UTC."""
    state = shipping_state(settings, shipper)
    for name in ("last_push_ok", "last_push_failed"):
        state[name] = iso(state.pop(f"{name}_at"))
    return state


def severity_param(request: web.Request) -> frozenset[str] | None:
    """``?severity=critical,HIGH``: the stored severities it names, in any case; None when absent."""
    raw = request.query.get("severity", "")
    if not raw.strip():
        return None
    raw = http.text(request.query, "severity", max_length=64)
    chosen = queries.severity_filter(raw.split(","))
    if not chosen <= queries.SEVERITY_ORDER.keys():
        raise http.ApiError(422, "invalid_parameter", {
            "parameter": "severity",
            "message": f"severity must be among {', '.join(queries.SEVERITY_NAMES)} (any case)",
        })
    return chosen


def hours_param(request: web.Request, default: float = 24.0) -> float:
    return http.number(request.query, "hours", default=default, low=0.0, high=MAX_HOURS)


def register(sf: StreamfixApp, ctx: ApiContext) -> None:
    settings = ctx.settings
    width = settings.window_seconds

    def snapshot() -> Snapshot:
        return ctx.reader.patterns(), ctx.reader.fixes()

    async def cached(key: str, compute: Callable[[list[Pattern], list[Any]], Any]) -> web.Response:
        """The answer for ``key``: ``compute(patterns, fixes)`` over a snapshot of the tables, cached."""
        body = await ctx.cache.get(key, snapshot, lambda snap: http.dumps(scrub_tree(compute(*snap))))
        return http.raw_json(body)

    def patterns_tracked() -> int:
        """Patterns the lists show (those merged into others left out)."""
        return queries.count_by(ctx.reader.patterns())

    async def health(request: web.Request) -> web.StreamResponse:
        """Liveness, how many patterns this worker tracks, the log sources it consumed, Loki shipping."""
        return http.json_response(
            {
                "status": "healthy",
                "monitoring_enabled": settings.error_monitoring_enabled,
                "error_patterns_tracked": patterns_tracked(),
                "sources": sources_health(source_registry(sf.state), settings, ctx.clock()),
                "loki_shipping": scrub_tree(shipping_health(settings, installed_shipper())),
            }
        )

    async def prometheus(request: web.Request) -> web.StreamResponse:
        """Prometheus text exposition of streamfix's registry."""
        metrics.PATTERNS.set(patterns_tracked())
        effectiveness.update_metrics(ctx)
        return web.Response(
            body=metrics.exposition(), content_type=CONTENT_TYPE_LATEST.split(";")[0], charset="utf-8"
        )

    def error_list(kind: str, severities: frozenset[str] | None, fixable: bool | None) -> Any:
        async def handler(request: web.Request) -> web.StreamResponse:
            hours = hours_param(request)
            limit = http.integer(request.query, "limit", default=100, low=1, high=1000)
            asked = severity_param(request)
            chosen = asked if severities is None else severities if asked is None else severities & asked
            return await cached(
                f"{kind}|{hours}|{limit}|{sorted(chosen) if chosen is not None else ''}",
                lambda patterns, _: queries.select(
                    patterns,
                    now=ctx.clock(),
                    hours=hours,
                    window_seconds=width,
                    severities=chosen,
                    fixable=fixable,
                    limit=limit,
                ),
            )

        handler.__doc__ = f"Patterns seen in the last `hours` ({kind})."
        return handler

    async def all_patterns(request: web.Request) -> web.StreamResponse:
        """Every pattern, most severe and most frequent first."""
        limit = http.integer(request.query, "limit", default=1000, low=1, high=10000)
        offset = http.integer(request.query, "offset", default=0, low=0, high=10_000_000)
        category = request.query.get("category") or None
        archived = (
            http.choice(request.query, "archived", queries.ARCHIVED_FILTERS, default="exclude") or "exclude"
        )
        status = http.choice(request.query, "status", lifecycle.STATUSES, default=None)
        severities = severity_param(request)

        def compute(patterns: list[Pattern], _: list[Any]) -> dict[str, Any]:
            rows = queries.matching(
                patterns,
                now=ctx.clock(),
                window_seconds=width,
                category=category,
                severities=severities,
                status_of=status_reader(ctx),
                archived=archived,
                status=status,
            )
            return {"patterns": queries.page(rows, offset=offset, limit=limit), "total": len(rows)}

        shown = sorted(severities) if severities is not None else ""
        return await cached(f"patterns|{limit}|{offset}|{category}|{archived}|{status}|{shown}", compute)

    async def pattern_detail(request: web.Request, fingerprint: str) -> web.StreamResponse:
        """One pattern with its sample traceback, frames, fix state and fixes."""
        pattern = ctx.reader.pattern(fingerprint)
        if pattern is None:
            raise http.ApiError(404, "not_found", f"no pattern with fingerprint {fingerprint[:100]!r}")
        detail = public_view(pattern)
        state = ctx.reader.fix_state(fingerprint)
        return http.json_response(
            scrub_tree(
                {
                    "error": queries.error_object(pattern, status=status_reader(ctx)(pattern)),
                    "traceback": detail["traceback"],
                    "frames": detail["frames"],
                    "incomplete": detail["incomplete"],
                    "fix_state": None if state is None else FIX_STATES.to_obj(state),
                    "fixes": queries.fix_list([ctx.reader.fix_history(fingerprint)]),
                }
            )
        )

    async def dashboard(request: web.Request) -> web.StreamResponse:
        """Summary cards, recent critical and fixable patterns, latest fixes."""
        hours = hours_param(request)
        limit = http.integer(request.query, "limit", default=10, low=1, high=100)
        return await cached(
            f"dashboard|{hours}|{limit}",
            lambda patterns, fixes: queries.dashboard(
                patterns, fixes, now=ctx.clock(), hours=hours, window_seconds=width, limit=limit
            ),
        )

    async def timeline(request: web.Request) -> web.StreamResponse:
        """Occurrences per category over time, from the per-window counts."""
        hours = hours_param(request)
        return await cached(
            f"timeline|{hours}",
            lambda patterns, _: queries.timeline(
                patterns, now=ctx.clock(), hours=hours, window_seconds=width
            ),
        )

    async def fixes(request: web.Request) -> web.StreamResponse:
        """Every fix, latest update first."""
        status = request.query.get("status") or None
        if status is not None and status not in FIX_STATUSES:
            raise http.ApiError(
                422,
                "invalid_parameter",
                {"parameter": "status", "message": f"status must be one of {sorted(FIX_STATUSES)}"},
            )
        limit = http.integer(request.query, "limit", default=100, low=1, high=1000)

        def compute(_: list[Pattern], fixes: list[Any]) -> dict[str, Any]:
            items = queries.fix_list(fixes, status=status)
            return {"fixes": items[:limit], "total": len(items)}

        return await cached(f"fixes|{status}|{limit}", compute)

    async def fix_detail(request: web.Request, fix_id: str) -> web.StreamResponse:
        """One fix by its id."""
        found = queries.find_fix(ctx.reader.fixes(), fix_id)
        if found is None:
            raise http.ApiError(404, "not_found", f"no fix with id {fix_id[:100]!r}")
        return http.json_response(scrub_tree(found))

    mount(sf, "/error-monitor/health", "health", get=health)
    mount(sf, "/metrics", "metrics", get=prometheus)
    mount(sf, "/error-monitor/errors/recent", "errors_recent", get=error_list("recent", None, None))
    mount(sf, "/error-monitor/errors/critical", "errors_critical", get=error_list("critical", CRITICAL, None))
    mount(sf, "/error-monitor/errors/fixable", "errors_fixable", get=error_list("fixable", None, True))
    mount(sf, "/error-monitor/errors/patterns", "errors_patterns", get=all_patterns)
    mount(sf, "/error-monitor/errors/timeline", "errors_timeline", get=timeline)
    mount(sf, "/error-monitor/patterns/{fingerprint}", "pattern_detail", get=pattern_detail)
    mount(sf, "/error-monitor/dashboard", "dashboard", get=dashboard)
    mount(sf, "/error-monitor/fixes/generated", "fixes_generated", get=fixes)
    mount(sf, "/error-monitor/fixes/{fix_id}", "fix_detail", get=fix_detail)
