"""Delivery through real HTTP to the fake services: payload shapes, exactly once, 429/500 parking,
restarts, permanent refusals, digests, rate limits, and no secret in any payload."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from streamfix.alerting.channels import (
    Channel,
    DiscordChannel,
    OpsgenieChannel,
    PagerDutyChannel,
    SlackChannel,
    WebhookChannel,
    sign,
)
from streamfix.alerting.delivery import Deliverer, enqueue, retry_after_seconds
from streamfix.alerting.store import DeliveryStore
from streamfix.kafka.wire import AlertRecord
from tests.fakes.alert_servers import HOOK_SECRET, OG_KEY, PD_KEY, FakeAlertServices

SECRETS = (
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "xoxb-1234567890-abcdefghijkl",
    "sk-ant-api03-" + "Zx9" * 10,
    "hunter2hunter2",
)
SECRET_TEXT = (
    f"boto failed with {SECRETS[0]} token={SECRETS[1]} slack {SECRETS[2]} key {SECRETS[3]} "
    f"password={SECRETS[4]}"
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> Iterator[FakeAlertServices]:
    server = FakeAlertServices().start()
    yield server
    server.stop()


def channels(fake: FakeAlertServices) -> dict[str, Channel]:
    return {
        "slack": SlackChannel(fake.url("slack")),
        "discord": DiscordChannel(fake.url("discord")),
        "pagerduty": PagerDutyChannel(fake.url("pagerduty"), PD_KEY),
        "opsgenie": OpsgenieChannel(fake.url("opsgenie"), OG_KEY),
        "webhook": WebhookChannel(fake.url("webhook"), HOOK_SECRET),
    }


def long_alert(n: int) -> AlertRecord:
    return alert(n, message="x" * 5000 + SECRET_TEXT, title="T" * 300)


def alert(n: int = 0, **kw: object) -> AlertRecord:
    values: dict[str, object] = {
        "alert_id": f"fp1:abc{n}:critical:1",
        "fingerprint": f"fp1:abc{n}",
        "kind": "critical",
        "channels": ["slack", "discord", "pagerduty", "opsgenie", "webhook"],
        "severity": "CRITICAL",
        "category": "database_error",
        "title": f"OperationalError in db.py:{n}",
        "message": SECRET_TEXT,
        "error_type": "OperationalError",
        "service": "api",
        "count": 3,
        "dashboard_url": f"http://dash.example/error-monitor/ui#/patterns/fp1:abc{n}",
        "pr_url": "https://github.com/o/r/pull/7",
        "created_at": 1_800_000_000.0 + n,
    }
    values.update(kw)
    return AlertRecord.model_validate(values)


def deliverer(store: DeliveryStore, fake: FakeAlertServices, clock: Clock, **kw: object) -> Deliverer:
    options: dict[str, object] = {
        "rate_per_minute": 600.0,
        "retry_base": 2.0,
        "retry_max": 300.0,
        "timeout": 5.0,
    }
    options.update(kw)
    return Deliverer(store, channels(fake), clock=clock, **options)  # type: ignore[arg-type]


async def test_every_channel_gets_its_documented_shape_once_and_no_secret(
    tmp_path: Path, fake: FakeAlertServices
) -> None:
    store, clock = DeliveryStore(tmp_path / "a.sqlite"), Clock()
    d = deliverer(store, fake, clock)
    assert enqueue(store, alert(), d.channels) == 5
    assert enqueue(store, alert(), d.channels) == 0  # read again from the topic: nothing new
    assert await d.run_once() == 5
    assert await d.run_once() == 0
    for service in ("slack", "discord", "pagerduty", "opsgenie", "webhook"):
        assert len(fake.received[service]) == 1, service
        dumped = orjson.dumps(fake.received[service][0]["body"]).decode()
        assert not [s for s in SECRETS if s in dumped], service
        assert "dash.example" in dumped, service
        assert "pull/7" in dumped, service
    pd = fake.received["pagerduty"][0]["body"]
    assert (pd["event_action"], pd["dedup_key"], pd["payload"]["severity"]) == (
        "trigger",
        "fp1:abc0",
        "critical",
    )
    assert fake.received["opsgenie"][0]["body"]["alias"] == "fp1:abc0"
    assert fake.received["discord"][0]["query"] == {"wait": ["true"]}
    assert fake.headers["webhook"][0]["idempotency-key"] == "fp1:abc0:critical:1:webhook"
    assert store.counts() == {(c, "delivered"): 1 for c in d.channels}
    await d.aclose()


async def test_resolve_goes_to_incident_channels_by_fingerprint(
    tmp_path: Path, fake: FakeAlertServices
) -> None:
    store, clock = DeliveryStore(tmp_path / "a.sqlite"), Clock()
    d = deliverer(store, fake, clock)
    enqueue(store, alert(kind="resolved", action="resolve", alert_id="fp1:abc0:resolved:2"), d.channels)
    await d.run_once()
    assert fake.received["pagerduty"][0]["body"] == {
        "routing_key": PD_KEY,
        "event_action": "resolve",
        "dedup_key": "fp1:abc0",
    }
    assert fake.received["opsgenie"][0]["path"] == "/opsgenie/v2/alerts/fp1%3Aabc0/close"
    assert fake.received["opsgenie"][0]["query"] == {"identifierType": ["alias"]}
    await d.aclose()


async def test_500_then_429_parks_and_delivers_exactly_once_even_across_a_restart(
    tmp_path: Path, fake: FakeAlertServices
) -> None:
    clock = Clock()
    fake.fail("slack", [(500, {}, b"rollup_error"), (429, {"Retry-After": "120"}, b"rate_limited")])
    store = DeliveryStore(tmp_path / "a.sqlite")
    d = deliverer(store, fake, clock)
    d.channels = {"slack": d.channels["slack"]}
    for n in range(3):
        enqueue(store, alert(n), d.channels)
    assert await d.run_once() == 0  # 500: parked for retry_base
    assert fake.requests["slack"] == 1
    assert await d.run_once() == 0  # still parked: no request at all
    assert fake.requests["slack"] == 1
    clock.now += 2.0
    assert await d.run_once() == 0  # 429 Retry-After: 120
    assert fake.requests["slack"] == 2
    await d.aclose()
    store.close()
    # the process dies here; a new one opens the same table
    store = DeliveryStore(tmp_path / "a.sqlite")
    d = deliverer(store, fake, clock)
    d.channels = {"slack": d.channels["slack"]}
    clock.now += 119.0
    assert await d.run_once() == 0
    assert fake.requests["slack"] == 2
    clock.now += 1.0
    assert await d.run_once() == 3
    assert [r["body"]["text"].split(": ", 1)[1] for r in fake.received["slack"]] == [
        f"OperationalError in db.py:{n}" for n in range(3)
    ]
    assert await d.run_once() == 0
    assert len(fake.received["slack"]) == 3
    rows = store.recent()
    assert {r["deliveries"][0]["status"] for r in rows} == {"delivered"}
    await d.aclose()


async def test_connection_refused_backs_off_exponentially(tmp_path: Path) -> None:
    store, clock = DeliveryStore(tmp_path / "a.sqlite"), Clock()
    d = Deliverer(
        store,
        {"slack": SlackChannel("http://127.0.0.1:9/nothing")},
        rate_per_minute=60,
        retry_base=2.0,
        retry_max=10.0,
        timeout=1.0,
        clock=clock,
    )
    enqueue(store, alert(channels=["slack"]), d.channels)
    waits = []
    for _ in range(5):
        await d.run_once()
        waits.append(store.parked_until("slack") - clock.now)
        clock.now = store.parked_until("slack")
    assert waits == [2.0, 4.0, 8.0, 10.0, 10.0]
    assert store.counts() == {("slack", "pending"): 1}
    await d.aclose()


async def test_a_bad_request_fails_with_the_service_answer(tmp_path: Path, fake: FakeAlertServices) -> None:
    store, clock = DeliveryStore(tmp_path / "a.sqlite"), Clock()
    d = Deliverer(
        store,
        {"pagerduty": PagerDutyChannel(fake.url("pagerduty"), "short-key")},
        rate_per_minute=60,
        retry_base=2.0,
        retry_max=10.0,
        timeout=5.0,
        clock=clock,
    )
    enqueue(store, alert(), d.channels)
    assert await d.run_once() == 1
    delivery = store.recent()[0]["deliveries"][0]
    assert delivery["status"] == "failed"
    assert "routing_key" in delivery["last_error"]
    await d.aclose()


async def test_many_due_at_once_become_one_digest_on_chat_channels(
    tmp_path: Path, fake: FakeAlertServices
) -> None:
    store, clock = DeliveryStore(tmp_path / "a.sqlite"), Clock()
    d = deliverer(store, fake, clock, digest_threshold=3)
    d.channels = {k: d.channels[k] for k in ("discord", "pagerduty")}
    for n in range(12):
        enqueue(store, alert(n), d.channels)
    assert await d.run_once() == 12 + 10  # discord: one digest of 12; pagerduty: rate-limited pass of 10
    assert len(fake.received["discord"]) == 1
    assert len(fake.received["discord"][0]["body"]["embeds"]) == 10
    assert fake.received["discord"][0]["body"]["content"].startswith("12 alerts")
    assert len(fake.received["pagerduty"]) == 10
    await d.aclose()


async def test_long_messages_fit_every_service_limit(tmp_path: Path, fake: FakeAlertServices) -> None:
    store, clock = DeliveryStore(tmp_path / "a.sqlite"), Clock()
    d = deliverer(store, fake, clock, digest_threshold=3)
    enqueue(store, long_alert(0), d.channels)
    assert await d.run_once() == 5
    for n in range(1, 8):
        enqueue(store, long_alert(n), d.channels)
    await d.run_once()
    assert store.counts().get(("discord", "failed")) is None
    assert store.counts()[("discord", "delivered")] == 8
    assert len(fake.received["discord"]) == 2  # one alone, then one digest of seven
    assert len(fake.received["opsgenie"]) == 8
    await d.aclose()


async def test_rate_limit_per_channel(tmp_path: Path, fake: FakeAlertServices) -> None:
    store, clock = DeliveryStore(tmp_path / "a.sqlite"), Clock()
    d = deliverer(store, fake, clock, rate_per_minute=12.0)  # burst 2, one more every 5 s
    d.channels = {"pagerduty": d.channels["pagerduty"]}
    for n in range(5):
        enqueue(store, alert(n), d.channels)
    assert await d.run_once() == 2
    assert await d.run_once() == 0
    clock.now += 5.0
    assert await d.run_once() == 1
    await d.aclose()


def test_quiet_hours_wait(tmp_path: Path) -> None:
    store = DeliveryStore(tmp_path / "a.sqlite")
    enqueue(store, alert(not_before=2_000_000_000.0, channels=["slack"]), {"slack": SlackChannel("http://x")})
    assert store.due("slack", 1_900_000_000.0, 10) == []
    assert len(store.due("slack", 2_000_000_000.0, 10)) == 1


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"Retry-After": "30"}, b"", 30.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, b"", 30.0),
        ({}, b'{"retry_after": 1.5, "global": false}', 1.5),
        ({}, b"", None),
        ({}, b"not json", None),
    ],
    ids=["seconds", "http-date", "discord-body", "none", "garbage"],
)
def test_retry_after(headers: dict[str, str], body: bytes, expected: float | None) -> None:
    now = 1445412480.0  # 07:28:00 that day
    assert retry_after_seconds(headers, body, now) == expected


def test_signature_is_hmac_sha256_of_timestamp_and_body() -> None:
    body = b'{"a":1}'
    assert (
        sign(b"k", "1700000000", body)
        == "sha256=" + hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    )


def _corpus(name: str) -> list[tuple[str, str, str]]:
    """``(kind, log line, secret value)``: the redaction corpus, or the safe fixer's red-team draw."""
    if name == "redaction":
        from tests.unit.fixing.secrets_corpus import lines

        return list(lines())
    from tests.unit.fixing.redteam_corpora import secrets

    return list(secrets(1))


@pytest.mark.parametrize("name", ["redaction", "redteam"])
async def test_no_secret_of_the_corpus_reaches_any_channel(
    tmp_path: Path, fake: FakeAlertServices, name: str
) -> None:
    corpus = _corpus(name)
    store, clock = DeliveryStore(tmp_path / "a.sqlite"), Clock()
    d = deliverer(store, fake, clock, digest_threshold=1000, rate_per_minute=60000.0)
    for n, (_, line, _) in enumerate(corpus):
        enqueue(store, alert(n, message=line, title=line, error_type=line, service=line), d.channels)
    while await d.run_once():
        clock.now += 1.0  # the rate limit's burst is 10 per channel
    assert store.counts() == {(c, "delivered"): len(corpus) for c in d.channels}
    for service in d.channels:
        dumped = orjson.dumps(fake.received[service]).decode()
        leaked = [cid for cid, _, secret in corpus if secret in dumped]
        assert leaked == [], service
    await d.aclose()
