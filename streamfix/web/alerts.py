"""Alert routes: ``/error-monitor/alerts`` (recent alerts with their delivery status, from this
worker's delivery table) and ``/error-monitor/errors/trends`` (rate, baseline, spike score, trend and
forecast per pattern)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from streamfix.core.records import PATTERNS
from streamfix.core.trends import trends
from streamfix.runtime.shared import StreamfixApp
from streamfix.services.alert_setup import rate_config
from streamfix.web import http
from streamfix.web.context import ApiContext
from streamfix.web.reads import hours_param
from streamfix.web.routing import mount


def register(sf: StreamfixApp, ctx: ApiContext) -> None:
    config = rate_config(ctx.settings)

    async def alerts(request: web.Request) -> web.StreamResponse:
        """Recent alerts, newest first, each with one delivery status per channel."""
        hours = hours_param(request, default=168.0)
        limit = http.integer(request.query, "limit", default=100, low=1, high=1000)
        store = sf.state.get("alert_store")
        items: list[Any] = [] if store is None else store.recent(limit, since=ctx.clock() - hours * 3600)
        counts = {} if store is None else {f"{c}/{s}": n for (c, s), n in sorted(store.counts().items())}
        return http.json_response({"alerts": items, "total": len(items), "deliveries": counts})

    async def error_trends(request: web.Request) -> web.StreamResponse:
        """Per pattern seen in the last ``hours``: rate, baseline, spike score, trend, forecast, sparkline."""
        hours = hours_param(request)
        limit = http.integer(request.query, "limit", default=200, low=1, high=10000)
        states = {str(v.get("fingerprint")): v for v in ctx.reader.alert_states()}
        patterns = [PATTERNS.to_obj(p) for p in ctx.reader.patterns()]
        body = trends(patterns, states, config=config, now=ctx.clock(), hours=hours,
                      window_seconds=ctx.settings.window_seconds, limit=limit)
        return http.json_response(body)

    mount(sf, "/error-monitor/alerts", "alerts", get=alerts)
    mount(sf, "/error-monitor/errors/trends", "errors_trends", get=error_trends)
