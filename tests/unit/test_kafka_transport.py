"""The worker's transport: "seek to committed" also rewinds partitions the group never committed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import TopicPartition

from streamfix.kafka.transport import RewindingConsumer, RewindingConsumerThread, Transport
from streamfix.runtime.app import create_app
from streamfix.runtime.settings import Settings

RAW0, RAW1, RAW2 = (TopicPartition("p.logs.raw", n) for n in range(3))
CHANGELOG = TopicPartition("p-assembly-changelog", 0)


class FakeAiokafkaConsumer:
    """Records what the thread asks of aiokafka's consumer."""

    def __init__(self, committed: dict[TopicPartition, int | None]) -> None:
        self.committed = committed
        self.to_beginning: list[TopicPartition] = []

    async def seek_to_committed(self) -> dict[TopicPartition, int | None]:
        return dict(self.committed)

    async def seek_to_beginning(self, *partitions: TopicPartition) -> bool:
        self.to_beginning.extend(partitions)
        return True


class FakeFaustConsumer:
    def _is_changelog_tp(self, tp: Any) -> bool:
        return str(tp.topic).endswith("-changelog")


CASES = [
    ("never committed and committed at 0 are rewound", {RAW0: None, RAW1: 0, RAW2: 7}, [RAW0, RAW1]),
    ("committed partitions are left to aiokafka", {RAW0: 3, RAW1: 9}, []),
    ("changelog partitions are left to table recovery", {CHANGELOG: None, RAW0: None}, [RAW0]),
    ("nothing assigned", {}, []),
]


@pytest.mark.parametrize(("name", "committed", "rewound"), CASES, ids=[c[0] for c in CASES])
def test_rewind_to_committed(name: str, committed: dict[TopicPartition, int | None],
                             rewound: list[TopicPartition]) -> None:
    fake = FakeAiokafkaConsumer(committed)
    thread = object.__new__(RewindingConsumerThread)  # no event loop or broker: only the seek logic
    thread._consumer = fake
    thread.consumer = FakeFaustConsumer()  # type: ignore[assignment]
    result = asyncio.run(thread._rewind_to_committed())
    assert dict(result) == committed  # Faust still learns the committed offsets as they are
    assert fake.to_beginning == rewound


def test_the_worker_app_runs_on_the_rewinding_transport(tmp_path: Any) -> None:
    sf = create_app(Settings(data_dir=tmp_path))
    assert isinstance(sf.app.transport, Transport)
    assert sf.app.transport.Consumer is RewindingConsumer

