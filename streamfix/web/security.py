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
