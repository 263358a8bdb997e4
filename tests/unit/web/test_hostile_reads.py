"""DNS rebinding (Host allowlist), the page's security headers, and redacted read answers."""

from __future__ import annotations

import pytest

from streamfix.web import security

from .conftest import ApiFactory, event, fix_result

P = "/error-monitor"
STRIPE = "sk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
PASSWORD = "Tr0ub4dor&3xyz"


@pytest.mark.parametrize(
    "path", [f"{P}/errors/patterns", f"{P}/dashboard", f"{P}/ui", f"{P}/fixes/generated"]
)
async def test_a_foreign_host_gets_421_even_with_open_reads(make_api: ApiFactory, path: str) -> None:
    api = await make_api(api_auth_reads=False)
    answer = await api.client.get(path, headers={"Host": "evil.example"})
    assert answer.status == 421
    assert (await answer.json())["error"] == "misdirected_request"
    ok = await api.client.get(path, headers={"Host": "localhost:6066"})
    assert ok.status == 200


async def test_configured_hosts_replace_the_bind_names(make_api: ApiFactory) -> None:
    api = await make_api(api_allowed_hosts="monitor.internal")
    assert (
        await api.client.get(f"{P}/errors/patterns", headers={"Host": "monitor.internal:443"})
    ).status == 200
    assert (await api.client.get(f"{P}/errors/patterns", headers={"Host": "127.0.0.1"})).status == 421
    # health stays open for load balancers and probes, whatever their Host
    assert (await api.client.get(f"{P}/health", headers={"Host": "10.1.2.3:6066"})).status == 200


@pytest.mark.parametrize(
    ("configured", "bind", "local", "host", "allowed"),
    [
        pytest.param([], "127.0.0.1", frozenset(), "127.0.0.1:6066", True, id="loopback"),
        pytest.param([], "127.0.0.1", frozenset(), "localhost", True, id="localhost"),
        pytest.param([], "127.0.0.1", frozenset(), "[::1]:6066", True, id="ipv6-loopback"),
        pytest.param([], "127.0.0.1", frozenset(), "evil.example", False, id="rebinding"),
        pytest.param([], "127.0.0.1", frozenset(), "localhost.evil.example", False, id="suffix-trick"),
        pytest.param(
            [], "0.0.0.0", frozenset({"worker-1", "10.0.0.7"}), "10.0.0.7:6066", True, id="wildcard-addr"
        ),
        pytest.param([], "0.0.0.0", frozenset({"worker-1"}), "WORKER-1.", True, id="case-and-dot"),
        pytest.param([], "0.0.0.0", frozenset({"worker-1"}), "evil.example", False, id="wildcard-foreign"),
        pytest.param(["*"], "0.0.0.0", frozenset(), "anything", True, id="star"),
    ],
)
def test_host_allowlist(
    configured: list[str], bind: str, local: frozenset[str], host: str, allowed: bool
) -> None:
    assert security.host_allowed(host, security.allowed_hosts(configured, bind, local)) is allowed


async def test_page_and_api_send_the_security_headers(make_api: ApiFactory) -> None:
    api = await make_api()
    for path in (f"{P}/ui", f"{P}/errors/patterns", f"{P}/no-such-route"):
        headers = (await api.client.get(path)).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"


async def test_reads_are_redacted(make_api: ApiFactory) -> None:
    leaky = event("fp1:bb01", offset=9)
    leaky["message"] = f"stripe rejected {STRIPE} for login password={PASSWORD}"
    leaky["traceback"] = f"Traceback (most recent call last):\nValueError: {STRIPE}"
    fix = fix_result("fp1:bb01", "fix-9", "fix_invalid", 1_764_323_990.0)
    fix.update(message=leaky["message"], diff=f"+KEY = '{STRIPE}'\n", root_cause=f"key {STRIPE}")
    api = await make_api(events=[leaky], fixes={"fp1:bb01": {"fix-9": fix}}, api_auth_reads=False)
    bodies = []
    for path in (
        f"{P}/errors/patterns",
        f"{P}/patterns/fp1:bb01",
        f"{P}/dashboard",
        f"{P}/fixes/generated",
        f"{P}/fixes/fix-9",
        f"{P}/errors/recent",
    ):
        answer = await api.client.get(path)
        assert answer.status == 200, path
        bodies.append(await answer.text())
    text = "\n".join(bodies)
    assert STRIPE not in text and PASSWORD not in text
    assert "[REDACTED:" in text
    assert "fp1:bb01" in text  # identifiers are kept
