"""``GET /error-monitor/health`` and ``GET /metrics``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST

from streamfix import metrics

if TYPE_CHECKING:
    from streamfix.app import StreamfixApp


def register(sf: StreamfixApp) -> None:
    app = sf.app

    @app.page("/error-monitor/health")
    class Health(View):
        async def get(self, request: Request) -> Response:
            patterns = sf.tables["patterns"]
            body: dict[str, Any] = {
                "status": "healthy",
                "monitoring_enabled": sf.settings.error_monitoring_enabled,
                "error_patterns_tracked": len(patterns),
            }
            return self.json(body)

    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request: Request) -> Response:
            metrics.PATTERNS.set(len(sf.tables["patterns"]))
            return self.bytes(metrics.exposition(), content_type=CONTENT_TYPE_LATEST.split(";")[0])
