"""Mutating routes: fix requests for patterns or categories, the periodic Loki scan, a one-off scan.

Fix requests go to the fix-requests topic keyed by fingerprint, with ``trigger="api"`` and the
deterministic request id ``<fingerprint>#<attempt>`` (attempt from the pattern's fix state), so a
repeated click before the fix state moves names the same request and the fixer treats it once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from aiokafka.errors import KafkaError

from streamfix.core import queries
from streamfix.core.records import Pattern
from streamfix.errors import ConfigError, SourceError
from streamfix.runtime import metrics
from streamfix.runtime.shared import StreamfixApp
from streamfix.services.fixes import requested_fix
from streamfix.sources import loki
from streamfix.web import http
from streamfix.web.context import ApiContext
from streamfix.web.routing import mount

log = logging.getLogger(__name__)

MONITOR_TASK = "loki-monitor"


async def request_fixes(ctx: ApiContext, targets: list[Pattern], create_pr: bool) -> list[dict[str, Any]]:
    """Publish one fix request per pattern; returns what was requested."""
    now = ctx.clock()
    out = []
    for pattern in targets:
        fp = pattern.fingerprint
        request = requested_fix(pattern, ctx.reader.fix_state(fp), "api", now, create_pr=create_pr)
        try:
            await ctx.publisher.send_and_wait("fix_requests", fp, request)
        except KafkaError as exc:
            log.warning("fix request not published", extra={"fingerprint": fp, "error": str(exc)})
            raise http.ApiError(503, "broker_unavailable", f"Kafka did not take the fix request: {exc}",
                                headers={"Retry-After": "5"}) from None
        metrics.FIX_REQUESTS.labels(trigger="api", category=request.category).inc()
        out.append({"request_id": request.request_id, "fingerprint": fp, "attempt": request.attempt,
                    "category": request.category})
    return out


def resolve(ctx: ApiContext, error_id: str) -> tuple[str, list[Pattern]] | None:
    found = ctx.reader.pattern(error_id)
    return queries.fix_targets(error_id, found, [] if found is not None else ctx.reader.patterns())


def check_loki(ctx: ApiContext) -> None:
    """A 409 saying why there is no Loki to scan."""
    settings = ctx.settings
    if not (settings.loki_url and settings.loki_query):
        raise http.ApiError(409, "loki_not_configured",
                            "Loki is not configured: set STREAMFIX_LOKI_URL and STREAMFIX_LOKI_QUERY")


def scan_summary(result: Any) -> dict[str, Any]:
    return {
        "lines": result.lines,
        "pages": result.pages,
        "batches": result.batches,
        "start_ns": result.start_ns,
        "end_ns": result.end_ns,
        "duration_s": round(result.duration_s, 3),
        "query": result.query,
    }


def start_monitor(ctx: ApiContext, interval: float) -> asyncio.Task[None]:
    """The periodic Loki scan (:func:`streamfix.sources.loki.monitor`), reporting into ``ctx.monitor``."""

    def scanned(result: loki.ScanResult) -> None:
        ctx.monitor.update(
            last_scan=scan_summary(result), last_error=None, scans=ctx.monitor.get("scans", 0) + 1
        )

    def failed(message: str) -> None:
        ctx.monitor["last_error"] = message

    loop = loki.monitor(ctx.settings, ctx.publisher, interval, on_scan=scanned, on_error=failed)
    return asyncio.create_task(loop, name=MONITOR_TASK)


def register(sf: StreamfixApp, ctx: ApiContext) -> None:
    async def generate_for_error(request: web.Request) -> web.StreamResponse:
        """Request a fix for a pattern (fingerprint) or for every fixable pattern of a category."""
        error_id = http.text(request.query, "error_id")
        create_pr = http.boolean(request.query, "create_pr", default=True)
        found = resolve(ctx, error_id)
        if found is None:
            raise http.ApiError(
                404, "not_found", f"{error_id[:100]!r} is neither a pattern fingerprint nor a category"
            )
        kind, targets = found
        if not targets:
            raise http.ApiError(
                404, "no_fixable_patterns", f"category {error_id[:100]!r} has no fixable patterns"
            )
        requested = await request_fixes(ctx, targets, create_pr)
        return http.json_response(
            {
                "error_id": error_id,
                "kind": kind,
                "create_pr": create_pr,
                "request_ids": [r["request_id"] for r in requested],
                "requested": requested,
            },
            status=202,
        )

    async def generate_batch(request: web.Request) -> web.StreamResponse:
        """Request fixes for several fingerprints or categories at once."""
        ids = http.id_list(request.query, "error_ids")
        create_pr = http.boolean(request.query, "create_prs", default=True)
        targets: dict[str, Pattern] = {}
        not_found: list[str] = []
        for error_id in ids:
            found = resolve(ctx, error_id)
            if found is None:
                not_found.append(error_id)
                continue
            for pattern in found[1]:
                targets.setdefault(pattern.fingerprint, pattern)
        if not targets:
            raise http.ApiError(
                404, "not_found", {"message": "no fixable pattern matched", "not_found": not_found}
            )
        requested = await request_fixes(ctx, list(targets.values()), create_pr)
        return http.json_response(
            {
                "create_pr": create_pr,
                "request_ids": [r["request_id"] for r in requested],
                "requested": requested,
                "not_found": not_found,
            },
            status=202,
        )

    async def monitor_start(request: web.Request) -> web.StreamResponse:
        """Start (or restart with a new interval) the periodic Loki scan inside this worker."""
        interval = http.number(request.query, "interval", default=300.0, low=10.0, high=86400.0)
        check_loki(ctx)
        previous = ctx.tasks.pop(MONITOR_TASK, None)
        if previous is not None:
            previous.cancel()
        ctx.tasks[MONITOR_TASK] = start_monitor(ctx, interval)
        ctx.monitor.update(interval=interval, started_at=ctx.clock())
        return http.json_response({"status": "restarted" if previous else "started", "interval": interval},
                                  status=202)

    async def monitor_scan(request: web.Request) -> web.StreamResponse:
        """Scan the last `hours` of Loki once and publish what it finds."""
        hours = http.number(request.query, "hours", default=1.0, low=0.0, high=168.0)
        auto_fix = http.boolean(request.query, "auto_fix", default=False)
        check_loki(ctx)
        try:
            result = await loki.scan(ctx.settings, hours, auto_fix, ctx.publisher)
        except ConfigError as exc:
            raise http.ApiError(422, "invalid_configuration", str(exc)) from None
        except SourceError as exc:
            raise http.ApiError(502, "loki_failed", str(exc)) from None
        return http.json_response(
            {"status": "done", "hours": hours, "auto_fix": auto_fix, **scan_summary(result)}
        )

    async def stop_tasks(*_: Any, **__: Any) -> None:
        for task in ctx.tasks.values():
            task.cancel()
        ctx.tasks.clear()
        ctx.cache.close()

    sf.app.on_before_shutdown.connect(stop_tasks, weak=False)
    mount(sf, "/error-monitor/fixes/generate-for-error", "fixes_generate_for_error", post=generate_for_error)
    mount(sf, "/error-monitor/fixes/generate-batch", "fixes_generate_batch", post=generate_batch)
    mount(sf, "/error-monitor/monitor/start", "monitor_start", post=monitor_start)
    mount(sf, "/error-monitor/monitor/scan", "monitor_scan", post=monitor_scan)
