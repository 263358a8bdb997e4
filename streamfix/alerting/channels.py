"""Notification channels behind one interface: each turns an alert into the HTTP request its service
documents, and reads that service's answer.

* Slack incoming webhook: ``POST <webhook>`` ``{"text", "blocks"}`` (Block Kit); ``200 ok``; errors are
  plain-text bodies (``invalid_payload``, ``no_service``...) and ``429`` with ``Retry-After``.
* Discord webhook: ``POST <webhook>?wait=true`` ``{"content", "embeds"}``; ``200`` with the message;
  ``429`` with ``Retry-After`` and ``{"retry_after": seconds}``.
* PagerDuty Events API v2: ``POST /v2/enqueue`` ``{"routing_key", "event_action", "dedup_key", "payload",
  "links"}``; ``202 {"status": "success", "dedup_key"}``; ``400 {"status": "invalid event", "errors"}``;
  ``429``. ``dedup_key`` is the fingerprint, so a trigger and its resolve name the same incident.
* Opsgenie Alerts API: ``POST /v2/alerts`` (create, ``alias`` = fingerprint) and
  ``POST /v2/alerts/{alias}/close?identifierType=alias``, header ``Authorization: GenieKey <key>``;
  ``202 {"result", "took", "requestId"}``; ``422``/``429`` with ``{"message", ...}``.
* Generic webhook: ``POST <url>`` the alert's JSON, signed: ``X-Streamfix-Signature: sha256=<hex
  HMAC-SHA256 of "<timestamp>.<body>">``, ``X-Streamfix-Timestamp``, ``Idempotency-Key``.

Every text that comes from the logs is scrubbed by :func:`streamfix.alerting.redact.scrub` before it is
put in a payload.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote

import orjson

from streamfix.alerting.redact import scrub
from streamfix.kafka.wire import AlertRecord
from streamfix.runtime.settings import Settings

SCRUBBED_FIELDS = ("title", "message", "error_type", "category", "service", "environment", "fix_status")
KIND_TEXT = {
    "new_pattern": "New error",
    "regression": "Regression",
    "spike": "Error spike",
    "critical": "Critical error",
    "fix_opened": "Fix opened",
    "fix_merged": "Fix merged",
    "fix_failed": "Fix failed",
    "resolved": "Resolved",
    "digest": "Digest",
}
COLORS = {"CRITICAL": 0xD32F2F, "HIGH": 0xF57C00, "MEDIUM": 0xFBC02D, "LOW": 0x1976D2, "INFO": 0x757575}
PD_SEVERITY = {"CRITICAL": "critical", "HIGH": "error", "MEDIUM": "warning", "LOW": "info", "INFO": "info"}
OG_PRIORITY = {"CRITICAL": "P1", "HIGH": "P2", "MEDIUM": "P3", "LOW": "P4", "INFO": "P5"}


@dataclass(frozen=True, slots=True)
class Outgoing:
    url: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    method: str = "POST"


class Channel(Protocol):
    """One notification service. ``digestible`` channels take one digest when many alerts are due."""

    name: str
    digestible: bool

    def request(self, alert: AlertRecord, *, idempotency_key: str, now: float) -> Outgoing | None:
        """The request that delivers ``alert``; None when this channel has nothing to say about it."""
        ...

    def digest(self, alerts: Sequence[AlertRecord], *, idempotency_key: str, now: float) -> Outgoing: ...


def scrubbed(alert: AlertRecord) -> AlertRecord:
    """The alert with every text that may carry log content redacted."""
    update: dict[str, object] = {}
    for name in SCRUBBED_FIELDS:
        value = getattr(alert, name)
        if isinstance(value, str):
            update[name] = scrub(value)
    return alert.model_copy(update=update)


def _json(value: object) -> bytes:
    return orjson.dumps(value)


def _headline(alert: AlertRecord) -> str:
    where = f" in {alert.service}" if alert.service else ""
    name = alert.title or alert.error_type or alert.fingerprint
    return f"{KIND_TEXT.get(alert.kind, alert.kind)}{where}: {name}"


def _facts(alert: AlertRecord) -> list[tuple[str, str]]:
    facts = [
        ("Severity", alert.severity),
        ("Category", alert.category or "-"),
        ("Occurrences", str(alert.count)),
    ]
    if alert.environment:
        facts.append(("Environment", alert.environment))
    if alert.rate is not None and alert.baseline is not None:
        facts.append(("Rate", f"{alert.rate:g} vs baseline {alert.baseline:.1f}"))
    if alert.trend:
        facts.append(("Trend", alert.trend))
    if alert.fix_status:
        facts.append(("Fix", alert.fix_status))
    return facts


def _links(alert: AlertRecord) -> list[tuple[str, str]]:
    links = []
    if alert.dashboard_url:
        links.append(("Pattern in the dashboard", alert.dashboard_url))
    if alert.pr_url:
        links.append(("Fix pull request", alert.pr_url))
    return links


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackChannel:
    name = "slack"
    digestible = True

    def __init__(self, webhook_url: str) -> None:
        self._url = webhook_url

    def request(self, alert: AlertRecord, *, idempotency_key: str, now: float) -> Outgoing:
        alert = scrubbed(alert)
        headline = _headline(alert)
        blocks: list[dict[str, object]] = [
            {"type": "header", "text": {"type": "plain_text", "text": headline[:150], "emoji": False}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "```" + _slack_escape(alert.message[:2800]) + "```"},
            },
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{k}*\n{_slack_escape(v)}"} for k, v in _facts(alert)[:10]
                ],
            },
        ]
        links = _links(alert)
        if links:
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": text},
                            "url": url,
                            "action_id": f"link-{i}",
                        }
                        for i, (text, url) in enumerate(links)
                    ],
                }
            )
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"`{alert.fingerprint}`"}]})
        return Outgoing(
            self._url, _json({"text": headline, "blocks": blocks}), {"Content-Type": "application/json"}
        )

    def digest(self, alerts: Sequence[AlertRecord], *, idempotency_key: str, now: float) -> Outgoing:
        alerts = [scrubbed(a) for a in alerts]
        lines = [
            f"• <{a.dashboard_url}|{_slack_escape(_headline(a))}>"
            if a.dashboard_url
            else f"• {_slack_escape(_headline(a))}"
            for a in alerts
        ]
        text = f"{len(alerts)} alerts"
        blocks = [
            {"type": "header", "text": {"type": "plain_text", "text": text}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}},
        ]
        return Outgoing(
            self._url, _json({"text": text, "blocks": blocks}), {"Content-Type": "application/json"}
        )


class DiscordChannel:
    name = "discord"
    digestible = True

    def __init__(self, webhook_url: str) -> None:
        self._url = webhook_url + ("&" if "?" in webhook_url else "?") + "wait=true"

    def _embed(self, alert: AlertRecord, *, compact: bool = False) -> dict[str, object]:
        # Discord caps the text of all embeds of one message at 6000 characters together
        limit = 200 if compact else 3500
        embed: dict[str, object] = {
            "title": _headline(alert)[:256],
            "description": ("```" + alert.message[:limit] + "```") if alert.message else "",
            "color": COLORS.get(alert.severity, 0x757575),
            "fields": []
            if compact
            else (
                [{"name": k, "value": v[:200], "inline": True} for k, v in _facts(alert)]
                + [{"name": text, "value": url[:1024], "inline": False} for text, url in _links(alert)]
            ),
            "footer": {"text": alert.fingerprint[:100]},
            "timestamp": datetime.fromtimestamp(alert.created_at, UTC).isoformat(),
        }
        if alert.dashboard_url:
            embed["url"] = alert.dashboard_url
        return embed

    def request(self, alert: AlertRecord, *, idempotency_key: str, now: float) -> Outgoing:
        alert = scrubbed(alert)
        body = {
            "content": _headline(alert)[:2000],
            "embeds": [self._embed(alert)],
            "allowed_mentions": {"parse": []},
        }
        return Outgoing(self._url, _json(body), {"Content-Type": "application/json"})

    def digest(self, alerts: Sequence[AlertRecord], *, idempotency_key: str, now: float) -> Outgoing:
        alerts = [scrubbed(a) for a in alerts]
        embeds = [self._embed(a, compact=True) for a in alerts[:10]]  # at most 10 embeds per message
        more = " (first 10 shown)" if len(alerts) > 10 else ""
        body = {"content": f"{len(alerts)} alerts{more}", "embeds": embeds, "allowed_mentions": {"parse": []}}
        return Outgoing(self._url, _json(body), {"Content-Type": "application/json"})


class PagerDutyChannel:
    """Only incidents: critical, spike, regression and new-pattern alerts trigger; ``resolved`` resolves."""

    name = "pagerduty"
    digestible = False
    TRIGGERS = frozenset({"critical", "spike", "regression", "new_pattern"})

    def __init__(self, url: str, routing_key: str) -> None:
        self._url, self._key = url, routing_key

    def request(self, alert: AlertRecord, *, idempotency_key: str, now: float) -> Outgoing | None:
        alert = scrubbed(alert)
        if alert.action == "resolve":
            body: dict[str, object] = {
                "routing_key": self._key,
                "event_action": "resolve",
                "dedup_key": alert.fingerprint,
            }
        elif alert.kind in self.TRIGGERS:
            body = {
                "routing_key": self._key,
                "event_action": "trigger",
                "dedup_key": alert.fingerprint,
                "payload": {
                    k: v
                    for k, v in {
                        "summary": _headline(alert)[:1024],
                        "source": alert.service or "streamfix",
                        "severity": PD_SEVERITY.get(alert.severity, "error"),
                        "timestamp": datetime.fromtimestamp(alert.created_at, UTC).isoformat(),
                        "component": alert.service,
                        "group": alert.environment,
                        "class": alert.category or None,
                        "custom_details": {
                            "message": alert.message[:4000],
                            "fingerprint": alert.fingerprint,
                            **dict(_facts(alert)),
                        },
                    }.items()
                    if v is not None
                },
                "links": [{"href": url, "text": text} for text, url in _links(alert)],
                "client": "streamfix",
            }
            if alert.dashboard_url:
                body["client_url"] = alert.dashboard_url
        else:
            return None
        return Outgoing(self._url, _json(body), {"Content-Type": "application/json"})

    def digest(self, alerts: Sequence[AlertRecord], *, idempotency_key: str, now: float) -> Outgoing:
        raise NotImplementedError("PagerDuty alerts are never digested")


class OpsgenieChannel:
    name = "opsgenie"
    digestible = False

    def __init__(self, base_url: str, api_key: str) -> None:
        self._base, self._key = base_url.rstrip("/"), api_key

    def _headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json", "Authorization": f"GenieKey {self._key}"}

    def request(self, alert: AlertRecord, *, idempotency_key: str, now: float) -> Outgoing | None:
        alert = scrubbed(alert)
        if alert.action == "resolve":
            url = f"{self._base}/v2/alerts/{quote(alert.fingerprint, safe='')}/close?identifierType=alias"
            return Outgoing(
                url, _json({"source": "streamfix", "note": _headline(alert)[:25000]}), self._headers()
            )
        if alert.kind in ("fix_opened", "fix_failed"):
            return None
        description = "\n".join(
            [
                alert.message,
                "",
                *(f"{k}: {v}" for k, v in _facts(alert)),
                *(f"{text}: {url}" for text, url in _links(alert)),
            ]
        )
        body = {
            "message": _headline(alert)[:130],
            "alias": alert.fingerprint[:512],
            "description": description[:15000],
            "priority": OG_PRIORITY.get(alert.severity, "P3"),
            "source": "streamfix",
            "tags": [t for t in (alert.kind, alert.category, alert.environment) if t][:20],
            "details": {
                k: v
                for k, v in {
                    "fingerprint": alert.fingerprint,
                    "service": alert.service,
                    "dashboard": alert.dashboard_url,
                    "pull_request": alert.pr_url,
                }.items()
                if v
            },
            "entity": alert.service or "",
        }
        return Outgoing(f"{self._base}/v2/alerts", _json(body), self._headers())

    def digest(self, alerts: Sequence[AlertRecord], *, idempotency_key: str, now: float) -> Outgoing:
        raise NotImplementedError("Opsgenie alerts are never digested")


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``"<timestamp>.<body>"`` (what receivers verify)."""
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookChannel:
    name = "webhook"
    digestible = True

    def __init__(self, url: str, secret: str | None) -> None:
        self._url, self._secret = url, (secret or "").encode()

    def _out(self, payload: object, idempotency_key: str, now: float) -> Outgoing:
        body = _json(payload)
        stamp = str(int(now))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": idempotency_key,
            "X-Streamfix-Timestamp": stamp,
        }
        if self._secret:
            headers["X-Streamfix-Signature"] = sign(self._secret, stamp, body)
        return Outgoing(self._url, body, headers)

    def request(self, alert: AlertRecord, *, idempotency_key: str, now: float) -> Outgoing:
        return self._out(
            {"type": "alert", "alert": scrubbed(alert).model_dump(mode="json")}, idempotency_key, now
        )

    def digest(self, alerts: Sequence[AlertRecord], *, idempotency_key: str, now: float) -> Outgoing:
        return self._out(
            {"type": "digest", "alerts": [scrubbed(a).model_dump(mode="json") for a in alerts]},
            idempotency_key,
            now,
        )


def _secret(value: object) -> str | None:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter is not None else None


def configured_channels(settings: Settings) -> dict[str, Channel]:
    """The channels whose settings are present, in a fixed order."""
    out: dict[str, Channel] = {}
    if (slack := _secret(settings.alert_slack_webhook_url)) is not None:
        out["slack"] = SlackChannel(slack)
    if (discord := _secret(settings.alert_discord_webhook_url)) is not None:
        out["discord"] = DiscordChannel(discord)
    if (pd := _secret(settings.alert_pagerduty_routing_key)) is not None:
        out["pagerduty"] = PagerDutyChannel(settings.alert_pagerduty_url, pd)
    if (og := _secret(settings.alert_opsgenie_api_key)) is not None:
        out["opsgenie"] = OpsgenieChannel(settings.alert_opsgenie_url, og)
    if settings.alert_webhook_url:
        out["webhook"] = WebhookChannel(settings.alert_webhook_url, _secret(settings.alert_webhook_secret))
    return out
