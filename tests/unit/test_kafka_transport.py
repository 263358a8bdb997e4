"""The worker's transport: "seek to committed" also rewinds partitions the group never committed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import TopicPartition

from streamfix.kafka import transport
from streamfix.kafka.transport import (
    RewindingConsumer,
    RewindingConsumerThread,
    Transport,
    await_topic_metadata,
)
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



class FakeCluster:
    def __init__(self) -> None:
        self.known: dict[str, set[int]] = {}

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return self.known.get(topic)


class FakeClient:
    """aiokafka's client as the metadata wait sees it: the broker shows the topic after ``lag`` refreshes
    (a broker answers metadata requests from its own copy, a moment behind its controller)."""

    def __init__(self, topic: str, lag: int | None, tracked: set[str], known: bool = False) -> None:
        self.cluster = FakeCluster()
        self.topic, self.lag, self.refreshes = topic, lag, 0
        self.topics = set(tracked)
        if known:
            self.cluster.known[topic] = {0, 1, 2, 3}

    def _refresh(self) -> None:
        self.refreshes += 1
        for topic in self.topics:
            if topic == self.topic and self.lag is not None and self.refreshes > self.lag:
                self.cluster.known[topic] = {0, 1, 2, 3}

    async def add_topic(self, topic: str) -> bool:
        if topic not in self.topics:
            self.topics.add(topic)
            self._refresh()
        return True

    async def force_metadata_update(self) -> bool:
        self._refresh()
        return True


WAIT_CASES = [
    # name, broker lag in refreshes, tracked before, known before, known at the end, refreshes made
    ("known already: no request", 0, {"t"}, True, True, 0),
    ("tracked, shows up on the third refresh", 2, {"t"}, False, True, 3),
    ("not tracked: added, and found by that refresh", 0, set(), False, True, 1),
    ("not tracked, shows up on the second refresh", 1, set(), False, True, 2),
    ("never shows up: gives up with a warning", None, {"t"}, False, False, None),
]


@pytest.mark.parametrize(("name", "lag", "tracked", "before", "known", "refreshes"), WAIT_CASES,
                         ids=[c[0] for c in WAIT_CASES])
def test_await_topic_metadata(name: str, lag: int | None, tracked: set[str], before: bool, known: bool,
                              refreshes: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(transport.log, "warning", lambda msg, *args: warnings.append(msg % args))
    client = FakeClient("t", lag, tracked, known=before)
    found = asyncio.run(await_topic_metadata(client, "t", wait_seconds=0.5 if known else 0.05, retry=0))
    assert found is known
    assert "t" in client.topics  # tracked from now on, so periodic refreshes keep it current
    if refreshes is not None:
        assert client.refreshes == refreshes
    assert any("still missing" in w for w in warnings) is (not known)


def test_declaring_a_topic_waits_for_it_in_the_consumers_metadata() -> None:
    client = FakeClient("p-alert_state-changelog", 2, {"p-alert_state-changelog"})
    created: list[str] = []

    class Base:
        async def create_topic(self, topic: str, partitions: int, replication: int, **options: Any) -> None:
            created.append(topic)

    thread = object.__new__(RewindingConsumerThread)
    thread._consumer = type("C", (), {"_client": client})()
    thread.app = type("A", (), {"conf": type("Conf", (), {"topic_allow_declare": True})()})()  # type: ignore[assignment]

    async def call_thread(fn: Any, *args: Any) -> Any:
        return await fn(*args)

    thread.call_thread = call_thread  # type: ignore[method-assign]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(RewindingConsumerThread.__mro__[1], "create_topic", Base.create_topic)
        asyncio.run(thread.create_topic("p-alert_state-changelog", 4, 1, compacting=True))
    assert created == ["p-alert_state-changelog"]
    assert client.cluster.partitions_for_topic("p-alert_state-changelog") == {0, 1, 2, 3}
