"""The Claude budget: at most N calls per rolling hour and T tokens per rolling day.

In-process and per worker; a limit of 0 disables analysis altogether. The clock is injected so tests
move time instead of waiting.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True, slots=True)
class BudgetState:
    calls_last_hour: int
    tokens_last_day: int
    max_calls_per_hour: int
    max_tokens_per_day: int


class Budget:
    def __init__(
        self, max_calls_per_hour: int, max_tokens_per_day: int, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.max_calls_per_hour = max_calls_per_hour
        self.max_tokens_per_day = max_tokens_per_day
        self._clock = clock
        self._calls: deque[float] = deque()
        self._tokens: deque[tuple[float, int]] = deque()
        self._tokens_total = 0

    def _expire(self, now: float) -> None:
        while self._calls and self._calls[0] <= now - HOUR:
            self._calls.popleft()
        while self._tokens and self._tokens[0][0] <= now - DAY:
            self._tokens_total -= self._tokens.popleft()[1]

    def try_acquire(self) -> str | None:
        """Reserve one call. Returns None when allowed, else why not."""
        now = self._clock()
        self._expire(now)
        if len(self._calls) >= self.max_calls_per_hour:
            return f"Claude call budget spent ({self.max_calls_per_hour} calls per hour)"
        if self._tokens_total >= self.max_tokens_per_day:
            return f"Claude token budget spent ({self.max_tokens_per_day} tokens per day)"
        self._calls.append(now)
        return None

    def record_tokens(self, tokens: int) -> None:
        if tokens > 0:
            self._tokens.append((self._clock(), tokens))
            self._tokens_total += tokens

    def state(self) -> BudgetState:
        self._expire(self._clock())
        return BudgetState(
            len(self._calls), self._tokens_total, self.max_calls_per_hour, self.max_tokens_per_day
        )
