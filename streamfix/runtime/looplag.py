"""Event-loop lag: how late the worker's event loop runs a callback that was due.

Everything in a worker (consuming, producing, heartbeats, the web API) shares one event loop; code that
holds it for long stalls all of them. :func:`monitor` sleeps :data:`INTERVAL` seconds again and again
and records how much later than asked it woke up: every sample in the histogram
``streamfix_event_loop_lag_seconds``, and the largest of the last :data:`WINDOW` seconds in the gauge
``streamfix_event_loop_lag_max_seconds`` (alert rule ``StreamfixEventLoopLag``).
"""

from __future__ import annotations

import asyncio
import logging

from streamfix.runtime import metrics

log = logging.getLogger(__name__)

INTERVAL = 0.1
WINDOW = 10.0
WARN_SECONDS = 0.2


async def monitor(interval: float = INTERVAL, window: float = WINDOW) -> None:
    """Measure the loop's lag forever (run it as a task of the worker)."""
    loop = asyncio.get_running_loop()
    worst, since = 0.0, loop.time()
    while True:
        asked = loop.time()
        await asyncio.sleep(interval)
        now = loop.time()
        lag = max(0.0, now - asked - interval)
        metrics.EVENT_LOOP_LAG.observe(lag)
        if lag > WARN_SECONDS:
            log.warning("event loop blocked for %.3f s", lag, extra={"lag_s": round(lag, 3)})
        if now - since >= window:
            worst, since = 0.0, now
        worst = max(worst, lag)
        metrics.EVENT_LOOP_LAG_MAX.set(worst)


async def run() -> None:
    """:func:`monitor` with its defaults (Faust passes the app to a task that takes an argument)."""
    await monitor()
