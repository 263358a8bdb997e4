"""``GET /error-monitor/errors/patterns``: every pattern this worker's tables hold."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from faust.web import Request, Response, View

from streamfix.core import queries

if TYPE_CHECKING:
    from streamfix.app import StreamfixApp


def register(sf: StreamfixApp) -> None:
    patterns = sf.tables["patterns"]

    @sf.app.page("/error-monitor/errors/patterns")
    class Patterns(View):
        async def get(self, request: Request) -> Response:
            items = queries.select(patterns.values(), now=time.time(), window_seconds=sf.settings.window_seconds)
            return self.json({"patterns": items, "total": len(items)})
