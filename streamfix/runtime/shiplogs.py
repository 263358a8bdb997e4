"""Ships streamfix's own log records to Loki's push API without ever blocking the caller.

:class:`LokiShipHandler` is a :class:`logging.Handler` whose ``emit`` only puts the formatted record
on a bounded queue; a daemon thread drains it in batches (up to ``batch_size`` records or
``flush_interval`` seconds), gzips ``{"streams":[...]}`` with string nanosecond timestamps and POSTs
it. A full queue or a failed push drops records and counts them in
``streamfix_log_ship_dropped_total``; the first failure after a success is logged once (to the other
handlers only).
"""

from __future__ import annotations

import gzip
import logging
import queue
import threading
import time
from typing import Any

import httpx
import orjson

from streamfix.runtime import metrics
from streamfix.runtime.settings import Settings

log = logging.getLogger(__name__)

PUSH_PATH = "/loki/api/v1/push"
NO_SHIP = "_streamfix_no_ship"  # records with this attribute are not shipped (the handler's own notices)


def push_url(url: str) -> str:
    """Accept a Loki base URL or the full push URL."""
    return url if "/loki/api/" in url else url.rstrip("/") + PUSH_PATH


def encode_push(records: list[tuple[str, str, str]], labels: dict[str, str]) -> bytes:
    """``(ts_ns as str, level, line)`` records → gzip-compressed push body, one stream per level."""
    streams: dict[str, list[list[str]]] = {}
    for ts, level, line in records:
        streams.setdefault(level, []).append([ts, line])
    payload: dict[str, list[dict[str, object]]] = {
        "streams": [
            {"stream": {**labels, "level": level}, "values": values} for level, values in streams.items()
        ]
    }
    return gzip.compress(orjson.dumps(payload), compresslevel=5)


class LokiShipHandler(logging.Handler):
    """A non-blocking handler that pushes records to Loki from a background thread."""

    def __init__(
        self,
        url: str,
        *,
        labels: dict[str, str],
        headers: dict[str, str] | None = None,
        queue_size: int = 10000,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        timeout: float = 5.0,
    ) -> None:
        super().__init__()
        self.url = push_url(url)
        self.labels = labels
        self._headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", **(headers or {})}
        self._queue: queue.Queue[tuple[str, str, str]] = queue.Queue(maxsize=queue_size)
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._timeout = timeout
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._healthy = True
        self.shipped = 0
        self.dropped = 0
        self.last_push_ok_at: float | None = None
        self.last_push_failed_at: float | None = None
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="loki-log-shipper", daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, NO_SHIP, False):
            return
        try:
            line = self.format(record)
            self._idle.clear()
            self._queue.put_nowait((str(int(record.created * 1e9)), record.levelname.lower(), line))
        except queue.Full:
            self._drop(1)
        except Exception:
            self.handleError(record)

    def _drop(self, count: int) -> None:
        self.dropped += count
        metrics.LOG_SHIP_DROPPED.inc(count)

    def _run(self) -> None:
        with httpx.Client(timeout=self._timeout, headers=self._headers) as client:
            while True:
                batch = self._take()
                if batch:
                    self._push(client, batch)
                elif self._stop.is_set():
                    return
                if self._queue.empty():
                    self._idle.set()

    def _take(self) -> list[tuple[str, str, str]]:
        batch: list[tuple[str, str, str]] = []
        deadline = time.monotonic() + self._flush_interval
        while len(batch) < self._batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self._stop.is_set() and self._queue.empty()):
                break
            try:
                batch.append(
                    self._queue.get(timeout=min(remaining, 0.05) if self._stop.is_set() else remaining)
                )
            except queue.Empty:
                if batch or self._stop.is_set():
                    break
        return batch

    def _push(self, client: httpx.Client, batch: list[tuple[str, str, str]]) -> None:
        try:
            resp = client.post(self.url, content=encode_push(batch, self.labels))
            ok = resp.status_code < 300
            detail = "" if ok else f"HTTP {resp.status_code}: {resp.text[:200]}"
        except httpx.HTTPError as exc:
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        if ok:
            self.last_push_ok_at = time.time()
            self.shipped += len(batch)
            if not self._healthy:
                log.info("shipping logs to Loki again", extra={NO_SHIP: True})
            self._healthy = True
            return
        self.last_push_failed_at, self.last_error = time.time(), detail
        self._drop(len(batch))
        if self._healthy:
            log.warning("cannot ship logs to Loki; dropping them until it answers",
                        extra={NO_SHIP: True, "error": detail, "url": self.url})
        self._healthy = False

    def state(self) -> dict[str, Any]:
        """Records shipped and dropped, and the time (Unix s) and outcome of the last pushes."""
        ok, failed = self.last_push_ok_at, self.last_push_failed_at
        working = None if ok is None and failed is None else (
            failed is None or (ok is not None and ok > failed))
        return {"working": working, "records_shipped": self.shipped, "records_dropped": self.dropped,
                "last_push_ok_at": ok, "last_push_failed_at": failed, "last_error": self.last_error}

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until the queue is drained and the last batch was pushed (or dropped)."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._timeout + 2)
        super().close()


def installed_shipper(logger: logging.Logger | None = None) -> LokiShipHandler | None:
    """The ship handler on ``logger`` (default: the root logger), if logging was set up with one."""
    for handler in (logger or logging.getLogger()).handlers:
        if isinstance(handler, LokiShipHandler):
            return handler
    return None


def shipping_state(settings: Settings, shipper: LokiShipHandler | None) -> dict[str, Any]:
    """Whether this process ships its own logs to Loki, and how that goes.

    ``working`` is true when the last push succeeded, false when it failed, null before the first push
    (or when not shipping).
    """
    state: dict[str, Any] = {"enabled": settings.loki_enabled,
                             "push_url_configured": bool(settings.loki_push_url),
                             "active": shipper is not None}
    state.update(shipper.state() if shipper is not None else {
        "working": None, "records_shipped": 0, "records_dropped": 0, "last_push_ok_at": None,
        "last_push_failed_at": None, "last_error": None})
    return state


def auth_headers(settings: Settings, org_id: str | None) -> dict[str, str]:
    """``Authorization`` (bearer or basic) and ``X-Scope-OrgID`` headers."""
    headers: dict[str, str] = {}
    if settings.loki_token is not None:
        headers["Authorization"] = f"Bearer {settings.loki_token.get_secret_value()}"
    elif settings.loki_username:
        password = settings.loki_password.get_secret_value() if settings.loki_password else ""
        auth = httpx.BasicAuth(settings.loki_username, password)
        request = next(auth.auth_flow(httpx.Request("GET", "http://auth")))
        headers["Authorization"] = request.headers["Authorization"]
    if org_id:
        headers["X-Scope-OrgID"] = org_id
    return headers
