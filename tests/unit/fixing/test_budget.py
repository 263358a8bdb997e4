from __future__ import annotations

from streamfix.fixing.budget import Budget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_calls_per_hour_roll() -> None:
    clock = Clock()
    budget = Budget(2, 10_000, clock=clock)
    assert budget.try_acquire() is None
    assert budget.try_acquire() is None
    assert budget.try_acquire() == "Claude call budget spent (2 calls per hour)"
    clock.now += 3600
    assert budget.try_acquire() is None


def test_tokens_per_day_roll() -> None:
    clock = Clock()
    budget = Budget(100, 1000, clock=clock)
    assert budget.try_acquire() is None
    budget.record_tokens(1200)
    assert budget.try_acquire() == "Claude token budget spent (1000 tokens per day)"
    clock.now += 86400
    assert budget.try_acquire() is None
    assert budget.state().tokens_last_day == 0


def test_zero_disables_analysis() -> None:
    assert Budget(0, 1000).try_acquire() is not None
