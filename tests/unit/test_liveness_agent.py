"""agents.liveness.Liveness against a fake consumer: where partitions start, what is held back, what is
read again, and the stall path. The decisions themselves are tested in tests/unit/core/test_liveness.py."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from agents.liveness import Liveness
from streamfix.runtime import metrics
from streamfix.runtime.settings import Settings

RAW = "p.logs.raw"


@dataclass(frozen=True)
class TP:
    topic: str
    partition: int


@dataclass
class FakeConsumer:
    committed: dict[TP, int | None]
    earliest: dict[TP, int]
    ends: dict[TP, int]
    seeks: list[tuple[TP, int]] = field(default_factory=list)

    def assignment(self) -> set[TP]:
        return set(self.earliest)

    async def earliest_offsets(self, *tps: TP) -> dict[TP, int]:
        return {tp: self.earliest[tp] for tp in tps}

    async def highwaters(self, *tps: TP) -> dict[TP, int]:
        return {tp: self.ends[tp] for tp in tps}

    async def seek(self, tp: TP, offset: int) -> None:
        self.seeks.append((tp, offset))


def make(committed: dict[TP, int | None], earliest: dict[TP, int], *, guarantee: str = "at_least_once",
         stall_seconds: float = 60.0, clock: Any = None) -> tuple[Liveness, FakeConsumer]:
    consumer = FakeConsumer(committed, earliest, ends=dict.fromkeys(earliest, 1000))
    app = SimpleNamespace(consumer=consumer, rebalancing=False, in_recovery=False,
                          tables=SimpleNamespace(changelog_topics=set()), conf=SimpleNamespace(id="g"))
    settings = Settings(processing_guarantee=guarantee, stall_seconds=stall_seconds)
    sf = SimpleNamespace(settings=settings, app=app, state={})
    live = Liveness(sf) if clock is None else Liveness(sf, clock=clock)  # type: ignore[arg-type]

    async def committed_offsets(tps: list[Any]) -> dict[tuple[str, int], int | None]:
        return {(tp.topic, tp.partition): consumer.committed.get(tp) for tp in tps}

    live._committed = committed_offsets  # type: ignore[method-assign]
    return live, consumer


def event(tp: TP, offset: int) -> Any:
    return SimpleNamespace(message=SimpleNamespace(tp=tp, offset=offset))


def held_back() -> float:
    return sum(s.value for m in metrics.RECORDS_HELD_BACK.collect() for s in m.samples
               if s.name.endswith("_total") and s.labels.get("topic") == RAW)


P0 = TP(RAW, 0)


@pytest.mark.parametrize(("committed", "earliest", "offsets", "admitted"), [
    ({P0: 10}, {P0: 0}, [10, 11, 12], [10, 11, 12]),  # continues at the committed offset
    ({P0: 10}, {P0: 0}, [12, 13], []),  # 10 and 11 never came: held back
    ({P0: None}, {P0: 0}, [0, 1], [0, 1]),  # never committed: from the first offset
    ({P0: None}, {P0: 0}, [5], []),  # never committed, and 0..4 never came
    ({P0: None}, {P0: 40}, [40, 41], [40, 41]),  # retention removed 0..39
    ({P0: 10}, {P0: 0}, [7, 8, 9, 10, 11], [7, 8, 9, 10, 11]),  # records read again before the committed one
], ids=["continues", "held-back", "never-committed", "never-committed-jump", "retention", "re-read"])
def test_admit(committed: dict[TP, int | None], earliest: dict[TP, int], offsets: list[int],
               admitted: list[int]) -> None:
    live, _ = make(committed, earliest)
    before = held_back()

    async def run() -> list[int]:
        return [o for o in offsets if await live.admit(event(P0, o))]

    assert asyncio.run(run()) == admitted
    assert held_back() - before == len(offsets) - len(admitted)


def test_exactly_once_admits_everything() -> None:
    live, _ = make({P0: 10}, {P0: 0}, guarantee="exactly_once")

    async def run() -> list[bool]:
        return [await live.admit(event(P0, o)) for o in (12, 20)]

    assert asyncio.run(run()) == [True, True]


def test_a_held_back_partition_is_read_again_from_the_expected_offset() -> None:
    live, consumer = make({P0: 10}, {P0: 0})

    async def run() -> list[bool]:
        first = [await live.admit(event(P0, o)) for o in (10, 11, 15, 16)]
        await live.check()
        return first + [await live.admit(event(P0, o)) for o in (12, 13, 14, 15, 16)]

    assert asyncio.run(run()) == [True, True, False, False, True, True, True, True, True]
    assert consumer.seeks == [(P0, 12)]


def test_retention_moves_the_expected_offset_forward() -> None:
    live, consumer = make({P0: 10}, {P0: 0})

    async def run() -> list[bool]:
        first = [await live.admit(event(P0, o)) for o in (10, 15)]
        consumer.earliest[P0] = 14  # 11..13 deleted before they were read
        await live.check()
        return first + [await live.admit(event(P0, o)) for o in (14, 15)]

    assert asyncio.run(run()) == [True, False, True, True]
    assert consumer.seeks == [(P0, 14)]


def test_a_stalled_partition_is_read_again_from_its_committed_offset() -> None:
    clock = iter([0.0, 5.0])
    live, consumer = make({P0: 10}, {P0: 0}, stall_seconds=1.0, clock=lambda: next(clock))

    async def run() -> None:
        await live.check()  # lag 990 seen at t=0
        await live.check()  # still 990 at t=5: stalled

    asyncio.run(run())
    assert consumer.seeks == [(P0, 10)]
    lag = {s.labels["partition"]: s.value for m in metrics.CONSUMER_LAG.collect() for s in m.samples
           if s.labels["topic"] == RAW}
    assert lag == {"0": 990.0}
