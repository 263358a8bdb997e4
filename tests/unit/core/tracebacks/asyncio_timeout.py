"""asyncio.wait_for timing out: TimeoutError chained from CancelledError, stdlib frames excluded.

EXPECT type=TimeoutError function=fetch_with_deadline category=timeout_error
"""

import asyncio


async def fetch_with_deadline() -> None:
    never = asyncio.Event()
    await asyncio.wait_for(never.wait(), timeout=0.01)  # RAISE-SITE


asyncio.run(fetch_with_deadline())
