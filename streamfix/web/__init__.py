"""Faust web views: the REST API under ``/error-monitor/``, the dashboard page and ``/metrics``.

:func:`register_views` mounts every route on the worker's aiohttp server and puts the API middleware
(size limit, CORS, rate limit, auth, JSON errors, metrics) in front of them.
"""

from __future__ import annotations

from aiohttp import web

from streamfix.kafka.publish import Publisher
from streamfix.runtime.shared import StreamfixApp
from streamfix.web import alerts, effectiveness, middleware, reads, ui, writes
from streamfix.web.context import ApiContext, TableReader, faust_publisher, faust_reader

CONTEXT_KEY = "web.api"


def register_views(sf: StreamfixApp, *, reader: TableReader | None = None,
                   publisher: Publisher | None = None) -> ApiContext:
    """Mount the routes; ``reader`` and ``publisher`` replace the table reader and the publisher in tests."""
    ctx = ApiContext(sf.settings, reader or faust_reader(sf), publisher or faust_publisher(sf))
    sf.state[CONTEXT_KEY] = ctx
    aiohttp_app: web.Application = sf.app.web.web_app  # type: ignore[attr-defined]  # the aiohttp driver's app
    aiohttp_app.middlewares.append(middleware.make_middleware(ctx))
    writes.register(sf, ctx)  # before reads: /fixes/{fix_id} must not shadow POST-only /fixes/... routes
    effectiveness.register(sf, ctx)  # before reads: /fixes/{fix_id} must not shadow it
    reads.register(sf, ctx)
    alerts.register(sf, ctx)
    ui.register(sf)
    return ctx
