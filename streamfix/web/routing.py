"""Mount plain ``async def handler(request, **match_info)`` functions as Faust views."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from aiohttp import web
from faust.web import View

from streamfix.web.http import ApiError

if TYPE_CHECKING:
    from streamfix.runtime.shared import StreamfixApp

Handler = Callable[..., Awaitable[web.StreamResponse]]


def _method(handler: Handler) -> Callable[..., Awaitable[Any]]:
    async def call(self: View, request: Any, **match: str) -> Any:
        return await handler(cast(web.Request, request), **match)

    call.__doc__ = handler.__doc__
    return call


async def _only_post(request: web.Request, **match: str) -> web.StreamResponse:
    raise ApiError(405, "method_not_allowed", f"{request.method} is not allowed here; use POST",
                   headers={"Allow": "POST"})


def mount(sf: StreamfixApp, path: str, name: str, *, get: Handler | None = None,
          post: Handler | None = None) -> None:
    """Register a view at ``path`` answering GET and/or POST with the given handlers."""
    attrs: dict[str, Any] = {"__module__": __name__}
    if get is not None:
        attrs["get"] = _method(get)
    if post is not None:
        attrs["post"] = _method(post)
        if get is None:  # answer GET with 405 here rather than fall through to a later {param} route
            attrs["get"] = _method(_only_post)
    view = type(name, (View,), attrs)
    sf.app.page(path, name=name)(view)
