"""The aiohttp middleware in front of every route: Host check, body size, CORS, rate limit, auth, errors,
metrics, and the security headers of every answer.

Order for an API request: 421 when the Host header is not one the API answers (DNS rebinding: a page
on another site whose name resolves to this machine), for every route under ``/error-monitor/``
except health; CORS preflight answered (only for configured origins); 413 when the
body is too large; 429 when the client's bucket is empty; 401/403 when the route needs the token;
then the view. :class:`~streamfix.web.http.ApiError` becomes its JSON answer, aiohttp's own 404/405
become JSON too, and anything else is logged and answered with a generic 500.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from streamfix.runtime import metrics
from streamfix.web import security
from streamfix.web.context import ApiContext
from streamfix.web.http import ApiError, json_response

log = logging.getLogger(__name__)

PREFIX = "/error-monitor/"
OPEN_PATHS = frozenset({
    "/error-monitor/health", "/error-monitor/openapi.json", "/error-monitor/ui", "/metrics",
})
OPEN_PREFIXES = ("/error-monitor/ui/",)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_open(path: str) -> bool:
    """Routes anyone may read: health, the OpenAPI document, the page and its assets, /metrics."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def _route_label(request: web.Request) -> str:
    info = request.match_info
    resource = info.route.resource if info is not None and info.http_exception is None else None
    return resource.canonical if resource is not None else "unmatched"


def _cors_headers(ctx: ApiContext, request: web.Request) -> dict[str, str]:
    origin = request.headers.get("Origin")
    if not origin or origin not in ctx.settings.api_cors_origins:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


def _client(request: web.Request) -> str:
    return request.remote or "unknown"


async def _check_size(ctx: ApiContext, request: web.Request) -> None:
    """413 for a body over the limit; one without a length (chunked) is read up to the limit to tell."""
    limit = ctx.settings.api_max_body_bytes
    length = request.content_length
    if length is None and request.body_exists:
        length = len(await request.content.read(limit + 1))
    if length is not None and length > limit:
        raise ApiError(413, "request_too_large", f"request bodies are limited to {limit} bytes")


def _guard(ctx: ApiContext, request: web.Request) -> None:
    """Raise the ApiError that stops this request before its view, if any."""
    path = request.path
    if path.startswith(PREFIX) and path != "/error-monitor/health":
        wait = ctx.limiter.acquire(_client(request))
        if wait > 0:
            raise ApiError(429, "rate_limited", f"too many requests; retry in {wait:.2f} s",
                           headers={"Retry-After": security.retry_after(wait)})
    mutating = request.method not in ("GET", "HEAD", "OPTIONS")
    if mutating or (ctx.settings.api_auth_reads and not is_open(path)):
        decision = security.check(ctx.token, request.headers.get("Authorization"), mutating=mutating)
        if decision.status:
            headers = {"WWW-Authenticate": 'Bearer realm="streamfix"'} if decision.status == 401 else {}
            raise ApiError(decision.status, decision.error, decision.detail, headers=headers)


def _local_names() -> frozenset[str]:
    """This machine's host name, its fully qualified name and their addresses (for a wildcard bind)."""
    import socket

    names: set[str] = set()
    try:
        host = socket.gethostname()
        names |= {host, socket.getfqdn()}
        names |= set(socket.gethostbyname_ex(host)[2])
    except OSError:
        pass
    return frozenset(n for n in names if n)


def make_middleware(ctx: ApiContext) -> Middleware:
    settings = ctx.settings
    local = _local_names() if settings.web_host.strip() in security.WILDCARD_BINDS else frozenset()
    hosts = security.allowed_hosts(settings.api_allowed_hosts, settings.web_host, local)

    @web.middleware
    async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        cors = _cors_headers(ctx, request)
        response: web.StreamResponse
        try:
            if (request.path.startswith(PREFIX) and request.path != "/error-monitor/health"
                    and not security.host_allowed(request.headers.get("Host"), hosts)):
                response = json_response({"error": "misdirected_request",
                                          "detail": "this Host is not one the API answers; see STREAMFIX_API_ALLOWED_HOSTS"},
                                         status=421)
            elif request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
                response = web.Response(status=204 if cors else 403, headers=cors)
            else:
                await _check_size(ctx, request)
                _guard(ctx, request)
                response = await handler(request)
        except ApiError as exc:
            response = exc.response()
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = json_response({"error": exc.reason.lower().replace(" ", "_"), "detail": exc.text or ""},
                                     status=exc.status, headers={k: v for k, v in exc.headers.items()
                                                                 if k in ("Allow", "Retry-After")})
        except Exception:
            log.exception("API request failed", extra={"path": request.path, "method": request.method})
            response = json_response({"error": "internal_error", "detail": "the server failed; see its log"},
                                     status=500)
        response.headers.update(cors)
        for name, value in security.SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        route = _route_label(request)
        metrics.API_REQUESTS.labels(route=route, status=str(response.status)).inc()
        metrics.API_LATENCY.labels(route=route).observe(time.perf_counter() - started)
        return response

    return api_middleware
