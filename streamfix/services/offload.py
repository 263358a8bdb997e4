"""Heavy core work off the event loop.

The core is plain synchronous code. For an ordinary batch it is faster to run it inline than to hand
it to a thread; a batch of :data:`HEAVY_CHARS` or more (a few very long lines) runs in a worker thread
instead, so the event loop (heartbeats, fetches, the web API) keeps running while it is processed.
The core functions are pure, so running them in a thread changes nothing in their results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
HEAVY_CHARS = 256 * 1024


def is_heavy(lines: Sequence[str]) -> bool:
    total = 0
    for line in lines:
        total += len(line)
        if total >= HEAVY_CHARS:
            return True
    return False


async def run_core(fn: Callable[..., T], lines: Sequence[str], *args: Any, **kwargs: Any) -> T:
    """``fn(lines, *args, **kwargs)``: inline for ordinary batches, in a thread for heavy ones."""
    if is_heavy(lines):
        return await asyncio.to_thread(fn, lines, *args, **kwargs)
    return fn(lines, *args, **kwargs)
