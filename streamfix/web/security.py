"""Bearer-token checks and the per-client token-bucket rate limiter. Pure: no HTTP objects, an injected clock."""

from __future__ import annotations

import hmac
import math
from collections.abc import Callable
from dataclasses import dataclass, field

TOKEN_ENV = "STREAMFIX_API_TOKEN"


@dataclass(frozen=True, slots=True)
class AuthDecision:
    """``status`` 0 means allowed; otherwise the 401/403 to answer, with its reason and message."""

    status: int = 0
    error: str = ""
    detail: str = ""


ALLOWED = AuthDecision()


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def check(configured: str | None, header: str | None, *, mutating: bool) -> AuthDecision:
    """Whether a request with this ``Authorization`` header may go on.

    Without a configured token, mutating routes are closed (403) and read routes that demand the
    token are closed too. The comparison takes the same time whatever the offered token.
    """
    if not configured:
        what = "mutating routes are" if mutating else "read routes are configured to be"
        return AuthDecision(403, "api_token_not_configured",
                            f"{what} protected by a bearer token, and none is configured: set {TOKEN_ENV}")
    offered = bearer_token(header)
    if offered is None:
        return AuthDecision(401, "unauthorized", "send Authorization: Bearer <token>")
    if not hmac.compare_digest(offered.encode("utf-8"), configured.encode("utf-8")):
        return AuthDecision(401, "unauthorized", "the bearer token is not valid")
    return ALLOWED


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


@dataclass(slots=True)
class RateLimiter:
    """Token buckets per client: ``rate`` tokens a second up to ``burst``; ``rate`` 0 disables it.

    At most ``max_clients`` buckets are kept; when there are more, the full ones (idle clients) go.
    """

    rate: float
    burst: int
    clock: Callable[[], float]
    max_clients: int = 10_000
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def acquire(self, client: str) -> float:
        """Take a token for ``client``: 0.0 when allowed, else the seconds until a token is free."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= self.max_clients:
                self._evict(now)
            bucket = self._buckets[client] = _Bucket(float(self.burst), now)
        else:
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _evict(self, now: float) -> None:
        full_after = self.burst / self.rate
        for key in [k for k, b in self._buckets.items() if now - b.stamp >= full_after]:
            del self._buckets[key]
        if len(self._buckets) >= self.max_clients:  # all busy: drop the longest idle
            oldest = min(self._buckets, key=lambda k: self._buckets[k].stamp)
            del self._buckets[oldest]

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after(seconds: float) -> str:
    """The ``Retry-After`` header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


# --- Host allowlist (DNS rebinding) and response headers ---------------------------------------------------

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
WILDCARD_BINDS = frozenset({"0.0.0.0", "::", "[::]", ""})

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
"""Sent with every answer of the API and the page."""


def allowed_hosts(configured: list[str], bind: str, local_names: frozenset[str] = frozenset()) -> frozenset[str]:
    """The Host names the API answers: the configured ones, else the names of the bind address.

    A loopback bind answers only loopback names. A wildcard bind (``0.0.0.0``) answers the loopback
    names and ``local_names`` (the machine's host name and addresses, found by the caller); anything
    else, such as a name a browser was tricked into resolving to this machine, needs configuring.
    """
    if configured:
        return frozenset(h.strip().lower() for h in configured if h.strip())
    bind = bind.strip().lower()
    if bind in WILDCARD_BINDS:
        return LOOPBACK_NAMES | {n.lower() for n in local_names}
    if bind in LOOPBACK_NAMES:
        return LOOPBACK_NAMES
    return frozenset({bind, f"[{bind}]"}) if ":" in bind else frozenset({bind})


def host_name(header: str) -> str:
    """The name part of a Host header (port and a trailing dot removed), lowercased."""
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end > 0 else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def host_allowed(header: str | None, allowed: frozenset[str]) -> bool:
    """Whether a request with this Host header may be answered ("*" in ``allowed`` allows any).
    A request without one (HTTP/1.0) cannot come from a browser and is allowed."""
    if header is None or "*" in allowed:
        return True
    return host_name(header) in allowed
