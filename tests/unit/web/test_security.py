"""Bearer auth, the token-bucket rate limit, request size limit and CORS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from streamfix.web import security
from streamfix.web.security import RateLimiter

from .conftest import AUTH, TOKEN, ApiFactory

P = "/error-monitor"
GENERATE = f"{P}/fixes/generate-for-error?error_id=fp1:aa02"


@pytest.mark.parametrize(("header", "token"), [
    pytest.param(None, None, id="absent"),
    pytest.param("", None, id="empty"),
    pytest.param("Bearer abc", "abc", id="bearer"),
    pytest.param("bearer   abc  ", "abc", id="case-and-spaces"),
    pytest.param("Basic abc", None, id="basic"),
    pytest.param("Bearer", None, id="no-token"),
    pytest.param("Token abc", None, id="other-scheme"),
])
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert security.bearer_token(header) == token


@pytest.mark.parametrize(("configured", "header", "mutating", "status"), [
    pytest.param(None, f"Bearer {TOKEN}", True, 403, id="none-configured"),
    pytest.param("", f"Bearer {TOKEN}", True, 403, id="empty-configured"),
    pytest.param(TOKEN, None, True, 401, id="missing"),
    pytest.param(TOKEN, "Bearer wrong", True, 401, id="wrong"),
    pytest.param(TOKEN, f"Bearer {TOKEN}x", True, 401, id="longer"),
    pytest.param(TOKEN, f"Bearer {TOKEN}", True, 0, id="right"),
    pytest.param(None, None, False, 403, id="reads-none-configured"),
])
def test_check(configured: str | None, header: str | None, mutating: bool, status: int) -> None:
    assert security.check(configured, header, mutating=mutating).status == status


def test_no_token_message_names_the_variable() -> None:
    assert "STREAMFIX_API_TOKEN" in security.check(None, None, mutating=True).detail


def test_token_bucket_refills_at_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a") == pytest.approx(0.5)
    assert limiter.acquire("b") == 0.0  # per client
    now[0] = 0.5
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0
    now[0] = 100.0
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]  # refilled, capped at burst
    assert limiter.acquire("a") > 0


def test_token_bucket_keeps_a_bounded_number_of_clients() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=1.0, burst=1, clock=lambda: now[0], max_clients=10)
    for i in range(100):
        now[0] += 0.01
        limiter.acquire(f"client-{i}")
    assert len(limiter) <= 10


def test_zero_rate_disables_the_limit() -> None:
    limiter = RateLimiter(rate=0.0, burst=1, clock=lambda: 0.0)
    assert all(limiter.acquire("a") == 0.0 for _ in range(1000))


@pytest.mark.parametrize(("seconds", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2"), (30.0, "30")])
def test_retry_after(seconds: float, header: str) -> None:
    assert security.retry_after(seconds) == header


async def test_mutating_routes_are_closed_without_a_configured_token(make_api: ApiFactory) -> None:
    api = await make_api(api_token=None)
    resp = await api.client.post(GENERATE, headers=AUTH)
    body = await resp.json()
    assert resp.status == 403 and "STREAMFIX_API_TOKEN" in body["detail"]
    assert api.published == []
    assert (await api.client.get(f"{P}/dashboard")).status == 200  # reads stay open


async def test_wrong_or_missing_token_is_401(make_api: ApiFactory) -> None:
    api = await make_api()
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {TOKEN}"}):
        resp = await api.client.post(GENERATE, headers=headers)
        assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.published == []
    assert (await api.client.post(GENERATE, headers=AUTH)).status == 202


async def test_reads_can_require_the_token(make_api: ApiFactory) -> None:
    api = await make_api(api_auth_reads=True)
    assert (await api.client.get(f"{P}/dashboard")).status == 401
    assert (await api.client.get(f"{P}/dashboard", headers=AUTH)).status == 200
    for open_path in (f"{P}/health", "/metrics", f"{P}/openapi.json", f"{P}/ui", f"{P}/ui/dashboard.js"):
        assert (await api.client.get(open_path)).status == 200, open_path


async def test_rate_limit_answers_429_with_retry_after(make_api: ApiFactory) -> None:
    api = await make_api(api_rate_limit=0.5, api_rate_burst=3)
    statuses = [(await api.client.get(f"{P}/errors/recent")).status for _ in range(3)]
    assert statuses == [200, 200, 200]
    resp = await api.client.get(f"{P}/errors/recent")
    assert resp.status == 429 and resp.headers["Retry-After"] == "2"
    assert (await resp.json())["error"] == "rate_limited"
    assert (await api.client.get(f"{P}/health")).status == 200  # probes are not limited


async def test_large_bodies_are_413(make_api: ApiFactory) -> None:
    api = await make_api(api_max_body_bytes=100)
    resp = await api.client.post(GENERATE, headers=AUTH, data=b"x" * 101)
    assert resp.status == 413 and (await resp.json())["error"] == "request_too_large"
    assert (await api.client.post(GENERATE, headers=AUTH, data=b"x" * 100)).status == 202


async def test_no_cors_by_default(make_api: ApiFactory) -> None:
    api = await make_api()
    resp = await api.client.get(f"{P}/dashboard", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers
    pre = await api.client.options(f"{P}/dashboard", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert pre.status == 403 and "Access-Control-Allow-Origin" not in pre.headers


async def test_cors_for_configured_origins(make_api: ApiFactory) -> None:
    api = await make_api(api_cors_origins="https://ops.example, https://other.example")
    ok = await api.client.get(f"{P}/dashboard", headers={"Origin": "https://ops.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://ops.example"
    other = await api.client.get(f"{P}/dashboard", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    pre = await api.client.options(GENERATE, headers={
        "Origin": "https://ops.example", "Access-Control-Request-Method": "POST"})
    assert pre.status == 204 and "Authorization" in pre.headers["Access-Control-Allow-Headers"]


async def test_chunked_bodies_are_measured_too(make_api: ApiFactory) -> None:
    api = await make_api(api_max_body_bytes=100)

    async def chunks(n: int) -> AsyncIterator[bytes]:
        for _ in range(n):
            yield b"x" * 50

    resp = await api.client.post(GENERATE, headers=AUTH, data=chunks(3))
    assert resp.status == 413
    assert (await api.client.post(GENERATE, headers=AUTH, data=chunks(2))).status == 202
