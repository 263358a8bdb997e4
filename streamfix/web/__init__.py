"""Faust web views: the REST API under ``/error-monitor/``, the dashboard page and ``/metrics``.

:func:`register_views` mounts every route on the worker's aiohttp server and puts the API middleware
(size limit, CORS, rate limit, auth, JSON errors, metrics) in front of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from streamfix.web.context import ApiContext, TableReader, faust_publisher, faust_reader

if TYPE_CHECKING:
    from streamfix.runtime.app import StreamfixApp
    from streamfix.web.context import Publish

CONTEXT_KEY = "web.api"


def register_views(sf: StreamfixApp, *, reader: TableReader | None = None, publish: Publish | None = None) -> ApiContext:
    """Mount the routes; ``reader`` and ``publish`` replace the table reader and the topic publisher in tests."""
    from streamfix.web import alerts, middleware, reads, ui, writes

    ctx = ApiContext(sf.settings, reader or faust_reader(sf), publish or faust_publisher(sf))
    sf.state[CONTEXT_KEY] = ctx
    aiohttp_app: web.Application = sf.app.web.web_app  # type: ignore[attr-defined]  # the aiohttp driver's app
    aiohttp_app.middlewares.append(middleware.make_middleware(ctx))
    writes.register(sf, ctx)  # before reads: /fixes/{fix_id} must not shadow POST-only /fixes/... routes
    reads.register(sf, ctx)
    alerts.register(sf, ctx)
    ui.register(sf)
    return ctx
