"""/error-monitor/alerts and /error-monitor/errors/trends over plain tables and a real delivery table."""

from __future__ import annotations

from typing import Any

from streamfix.alerting.store import DeliveryStore
from streamfix.core.alert_rules import default_rules
from streamfix.kafka.wire import AlertRecord, ErrorEventRecord
from streamfix.services.alert_setup import rate_config
from streamfix.services.alerts import AlertContext, on_error

from .conftest import NOW, ApiFactory, event

P = "/error-monitor"


async def get_json(api: Any, url: str, status: int = 200) -> Any:
    resp = await api.client.get(url)
    assert resp.status == status, await resp.text()
    return await resp.json()


async def test_alerts_lists_recent_alerts_with_delivery_status(make_api: ApiFactory, tmp_path: Any) -> None:
    api = await make_api()
    store = DeliveryStore(tmp_path / "alerts.sqlite")
    api.sf.state["alert_store"] = store
    for n, created in enumerate((NOW - 60, NOW - 30, NOW - 10 * 86400)):
        store.enqueue(
            AlertRecord(
                alert_id=f"fp1:a{n}:critical:1",
                fingerprint=f"fp1:a{n}",
                kind="critical",
                channels=["slack", "pagerduty"],
                created_at=created,
            ),
            ["slack", "pagerduty"],
        )
    store.mark("slack", ["fp1:a0:critical:1"], "delivered", NOW)
    body = await get_json(api, f"{P}/alerts?hours=24")
    assert [a["alert_id"] for a in body["alerts"]] == ["fp1:a1:critical:1", "fp1:a0:critical:1"]
    deliveries = {d["channel"]: d["status"] for d in body["alerts"][1]["deliveries"]}
    assert deliveries == {"pagerduty": "pending", "slack": "delivered"}
    assert body["deliveries"]["slack/delivered"] == 1
    assert (await get_json(api, f"{P}/alerts?hours=0", 422))["error"]


async def test_trends_per_pattern_with_forecast_and_sparkline(make_api: ApiFactory) -> None:
    api = await make_api()
    body = await get_json(api, f"{P}/errors/trends?hours=3")
    rows = {r["fingerprint"]: r for r in body["patterns"]}
    assert set(rows) == {"fp1:aa01", "fp1:aa02", "fp1:aa03"}
    row = rows["fp1:aa02"]
    assert sum(row["sparkline"]) == 4 and len(row["sparkline"]) == body["points"]
    assert row["trend"] in ("rising", "steady", "falling")
    assert {"rate", "baseline", "spike_score", "forecast"} <= set(row)
    categories = {r["category"]: sum(r["sparkline"]) for r in body["categories"]}
    assert categories == {"database": 2, "network": 5}
    assert {r["service"] for r in body["services"]} == {"api"}


async def test_trends_use_the_alert_state_when_there_is_one(make_api: ApiFactory) -> None:
    api = await make_api(
        events=[event("fp1:bb01", offset=i, ts=NOW - 3600 * (50 - i), occurrences=20) for i in range(50)]
    )
    settings = api.sf.settings
    ctx = AlertContext(default_rules(), rate_config(settings), (), "http://x", None, 3600.0, 3600.0)
    state = None
    for i in range(50):
        record = ErrorEventRecord.model_validate(
            event("fp1:bb01", offset=i, ts=NOW - 3600 * (50 - i), occurrences=20)
        )
        new, _ = on_error(state, record, ctx, NOW)
        state = new or state
    api.tables["alert_state"] = {"fp1:bb01": state}  # type: ignore[dict-item]
    body = await get_json(api, f"{P}/errors/trends?hours=48")
    row = body["patterns"][0]
    assert row["baseline"] > 5 and len(row["forecast"]) == 6
    assert all(f["low"] <= f["mean"] <= f["high"] for f in row["forecast"])
