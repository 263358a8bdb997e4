"""Live mode for the Loki source: ``/loki/api/v1/tail`` over a websocket, with polling behind it.

Tail frames are ``{"streams": [...], "dropped_entries": [...]}``; entries go through the poller's
deduper and pipeline, ``dropped_entries`` are counted in ``streamfix_source_dropped_lines_total``
with one log line per frame. Tail is best effort, so before each (re)connect the poller catches up
with ``query_range`` from the cursor; when the endpoint refuses the websocket (a proxy, an old Loki)
the watcher falls back to polling for good.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlencode

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from streamfix.core.cursor import Backoff
from streamfix.sources.base import count_dropped
from streamfix.sources.loki import LokiPoller, LokiUnavailable, flatten_streams

log = logging.getLogger(__name__)

TAIL = "/loki/api/v1/tail"


def tail_url(base: str, query: str, start_ns: int, limit: int) -> str:
    scheme, rest = base.split("://", 1)
    ws = "wss" if scheme == "https" else "ws"
    params = {"query": query, "limit": str(limit)}
    if start_ns:
        params["start"] = str(start_ns)
    return f"{ws}://{rest}{TAIL}?{urlencode(params)}"


def handle_frame(poller: LokiPoller, frame: dict[str, Any]) -> int:
    """Publish one tail frame's entries; count its dropped entries. Returns entries accepted."""
    dropped = frame.get("dropped_entries") or []
    if dropped:
        count_dropped("loki", "tail_dropped_entries", len(dropped), "Loki's tail dropped entries")
    entries, labels = flatten_streams(frame.get("streams") or [])
    return poller.handle(entries, labels)


async def run_live(poller: LokiPoller, headers: dict[str, str], interval: float) -> None:
    """Tail forever; fall back to :meth:`LokiPoller.run` when the tail endpoint is refused."""
    backoff = Backoff(initial=1.0, maximum=60.0)
    target = poller.target
    while True:
        try:
            await poller.poll_once()
        except LokiUnavailable as exc:
            delay = backoff.next_delay()
            log.warning("Loki unavailable; retrying", extra={"error": str(exc), "delay_s": delay})
            await asyncio.sleep(delay)
            continue
        url = tail_url(target.url, target.query, poller.dedupe.cursor.ts_ns, poller.page_limit)
        try:
            async with connect(url, additional_headers=headers, max_size=64 * 1024 * 1024) as ws:
                log.info("tailing Loki", extra={"query": target.query})
                backoff.reset()
                async for message in ws:
                    frame = orjson.loads(message)
                    if handle_frame(poller, frame):
                        await poller.pipeline.flush()
        except InvalidStatus as exc:
            log.warning("Loki refused the tail websocket; polling instead",
                        extra={"status": exc.response.status_code})
            await poller.run(interval)
            return
        except (ConnectionClosed, InvalidHandshake, OSError) as exc:
            delay = backoff.next_delay()
            log.warning("Loki tail disconnected; catching up and reconnecting",
                        extra={"error": str(exc), "delay_s": delay})
            await asyncio.sleep(delay)
