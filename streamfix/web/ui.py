"""The dashboard page (``/error-monitor/ui``), its static files, and the OpenAPI document route.

Plain HTML, CSS and JavaScript from ``streamfix/web/static``; nothing is built at run time. The files
are read once, at registration.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from aiohttp import web

from streamfix.web import http, openapi
from streamfix.web.routing import mount

if TYPE_CHECKING:
    from streamfix.runtime.shared import StreamfixApp

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript"}
ASSETS = ("dashboard.css", "dashboard.js", "chart.js")


def _load() -> dict[str, tuple[bytes, str]]:
    return {
        name: ((STATIC / name).read_bytes(), TYPES[Path(name).suffix]) for name in ("index.html", *ASSETS)
    }


def register(sf: StreamfixApp) -> None:
    files = _load()
    document = orjson.dumps(openapi.document())  # a schema, not table data: no api_json
    no_store = {"Cache-Control": "no-cache"}

    def serve(name: str) -> web.Response:
        body, content_type = files[name]
        return web.Response(body=body, content_type=content_type, charset="utf-8", headers=no_store)

    async def page(request: web.Request) -> web.StreamResponse:
        """The dashboard page."""
        return serve("index.html")

    async def asset(request: web.Request, asset: str) -> web.StreamResponse:
        """A CSS or JavaScript file of the page."""
        if asset not in ASSETS:
            raise http.ApiError(404, "not_found", f"no asset {asset[:64]!r}")
        return serve(asset)

    async def spec(request: web.Request) -> web.StreamResponse:
        """The OpenAPI 3.1 document."""
        return http.raw_json(document)

    mount(sf, "/error-monitor/openapi.json", "openapi", get=spec)
    mount(sf, "/error-monitor/ui", "ui", get=page)
    mount(sf, "/error-monitor/ui/{asset}", "ui_asset", get=asset)
