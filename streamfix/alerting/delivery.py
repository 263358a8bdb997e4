"""Sends every pending delivery of the store to its channel, exactly once per (alert, channel).

One pass per channel: skip a parked channel; take what is due (within the channel's rate limit); send
a digest when more than the rules' threshold is due at once on a digestible channel, else one request
per alert. The answer decides:

* 2xx: delivered (committed before anything else is sent);
* 429: the channel is parked until its ``Retry-After`` (header seconds or HTTP date, or Discord's
  ``retry_after`` in the body), the alert stays pending;
* 5xx, 408, timeouts and connection errors: parked with exponential backoff
  (``alert_retry_base_seconds`` doubled per consecutive failure, at most ``alert_retry_max_seconds``);
* any other 4xx: failed, with the service's answer kept as the reason (a malformed request is not
  made right by sending it again).

Parking is in the store, so a restarted worker honours it and retries the same pending deliveries.
A crash between a 2xx answer and the commit that records it is the one moment a message can be sent
twice; the webhook and PagerDuty/Opsgenie receive idempotency keys (``Idempotency-Key``, ``dedup_key``,
``alias``) that make such a repeat harmless there.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx
import orjson

from streamfix.alerting.channels import Channel, Outgoing
from streamfix.alerting.store import DeliveryStore, Due
from streamfix.kafka.wire import AlertRecord
from streamfix.runtime import metrics

log = logging.getLogger(__name__)


def retry_after_seconds(headers: Mapping[str, str], body: bytes, now: float) -> float | None:
    """Seconds to wait from a 429 answer: ``Retry-After`` (seconds or HTTP date) or a JSON ``retry_after``."""
    value = headers.get("retry-after") or headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if value else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - now)
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None
    if isinstance(data, dict) and isinstance(data.get("retry_after"), int | float):
        return max(0.0, float(data["retry_after"]))
    return None


def backoff(failures: int, base: float, cap: float) -> float:
    return float(min(cap, base * (2 ** max(0, failures - 1))))


@dataclass
class TokenBucket:
    """``rate`` messages per second, ``burst`` at once."""

    rate: float
    burst: float
    tokens: float = -1.0
    stamp: float = 0.0

    def available(self, now: float) -> int:
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return int(self.tokens)

    def take(self, n: int = 1) -> None:
        self.tokens -= n


class Deliverer:
    def __init__(
        self,
        store: DeliveryStore,
        channels: Mapping[str, Channel],
        *,
        rate_per_minute: float,
        retry_base: float,
        retry_max: float,
        timeout: float,
        digest_threshold: int = 5,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.store, self.channels = store, dict(channels)
        self._retry_base, self._retry_max, self._digest = retry_base, retry_max, digest_threshold
        self._clock = clock
        burst = max(1.0, min(10.0, rate_per_minute / 6))
        self._buckets = {name: TokenBucket(rate_per_minute / 60.0, burst) for name in self.channels}
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport, follow_redirects=False)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def run_once(self) -> int:
        """One pass over every channel; returns how many deliveries were completed (delivered or failed)."""
        done = 0
        for name, channel in self.channels.items():
            done += await self._channel_pass(name, channel)
        return done

    async def _channel_pass(self, name: str, channel: Channel) -> int:
        now = self._clock()
        if self.store.parked_until(name) > now:
            return 0
        bucket = self._buckets[name]
        budget = bucket.available(now)
        if budget < 1:
            return 0
        due = self.store.due(name, now, limit=max(budget, self._digest + 1) if channel.digestible else budget)
        if not due:
            return 0
        if channel.digestible and len(due) > self._digest:
            due += self.store.due(name, now, limit=1000)[len(due) :]
            bucket.take(1)
            ids = [d.alert.alert_id for d in due]
            outgoing = channel.digest(
                [d.alert for d in due], idempotency_key=f"digest:{ids[0]}:{len(ids)}:{name}", now=now
            )
            return await self._send(name, outgoing, due)
        done = 0
        for item in due[:budget]:
            single = channel.request(item.alert, idempotency_key=f"{item.alert.alert_id}:{name}", now=now)
            if single is None:  # nothing for this channel to say about this alert
                self.store.mark(name, [item.alert.alert_id], "skipped", now)
                done += 1
                continue
            bucket.take(1)
            sent = await self._send(name, single, [item])
            if sent < 0:
                break  # the channel is parked: the rest waits with it
            done += sent
        return done

    async def _send(self, name: str, outgoing: Outgoing, items: list[Due]) -> int:
        ids = [d.alert.alert_id for d in items]
        try:
            response = await self._client.request(
                outgoing.method, outgoing.url, content=outgoing.body, headers=dict(outgoing.headers)
            )
        except httpx.HTTPError as exc:
            self._park(name, ids, f"{type(exc).__name__}", None)
            return -1
        now = self._clock()
        status = response.status_code
        if 200 <= status < 300:
            self.store.mark(name, ids, "delivered", now)
            self.store.channel_ok(name)
            metrics.ALERTS_DELIVERED.labels(channel=name).inc(len(ids))
            return len(ids)
        detail = f"HTTP {status}: {response.text[:300]}"
        if status == 429:
            wait = retry_after_seconds(response.headers, response.content, now)
            self._park(name, ids, detail, wait)
            return -1
        if status >= 500 or status == 408:
            self._park(name, ids, detail, None)
            return -1
        log.error("alert refused by channel", extra={"channel": name, "status": status, "detail": detail})
        self.store.mark(name, ids, "failed", now, detail)
        metrics.ALERT_DELIVERY_FAILURES.labels(channel=name, reason=f"http_{status}").inc(len(ids))
        return len(ids)

    def _park(self, name: str, ids: list[str], detail: str, wait: float | None) -> None:
        now = self._clock()
        failures = self.store.failures(name) + 1
        delay = wait if wait is not None else backoff(failures, self._retry_base, self._retry_max)
        self.store.park(name, now + delay, ids, detail)
        metrics.ALERT_DELIVERY_FAILURES.labels(channel=name, reason="parked").inc(len(ids))
        log.warning(
            "alert channel parked", extra={"channel": name, "retry_in": round(delay, 3), "detail": detail}
        )


def enqueue(store: DeliveryStore, alert: AlertRecord, configured: Mapping[str, Channel]) -> int:
    """Record an alert read from the alerts topic for the configured channels it names."""
    channels = [c for c in alert.channels if c in configured]
    return store.enqueue(alert, channels)
