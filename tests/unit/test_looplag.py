"""The event-loop lag monitor measures how late a due timer runs."""

from __future__ import annotations

import asyncio
import contextlib
import time

from streamfix.runtime import looplag, metrics


async def test_a_blocked_loop_shows_in_the_gauge_and_the_histogram() -> None:
    def count_over(limit: str) -> float:
        total = over = 0.0
        for sample in metrics.EVENT_LOOP_LAG.collect()[0].samples:
            if sample.name.endswith("_count"):
                total = sample.value
            if sample.name.endswith("_bucket") and sample.labels["le"] == limit:
                over = sample.value
        return total - over

    before = count_over("0.2")
    task = asyncio.create_task(looplag.monitor(interval=0.01, window=60))
    await asyncio.sleep(0.05)
    time.sleep(0.3)  # noqa: ASYNC251 - holding the loop is what is measured
    await asyncio.sleep(0.05)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert metrics.EVENT_LOOP_LAG_MAX.collect()[0].samples[0].value >= 0.25
    assert count_over("0.2") - before == 1
