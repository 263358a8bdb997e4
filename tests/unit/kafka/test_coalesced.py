"""A table seen through one batch of records: reads see the batch's writes, each key is written once,
under the event that wrote it last (its changelog partition)."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
from faust.streams import current_event

from streamfix.kafka.events import Coalesced, CoalescedCounts, current


class Event:
    def __init__(self, name: str) -> None:
        self.name = name


class RecordingTable(MutableMapping[str, Any]):
    """A dict that notes, for every write, the event Faust would take the changelog partition from."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = dict(data)
        self.writes: list[tuple[str, Any, str | None]] = []

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        event = current_event()
        self.writes.append((key, value, getattr(event, "name", None)))
        self.data[key] = value

    def __delitem__(self, key: str) -> None:
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


CASES = [
    # name, table before, (event, key, value) writes in order, writes that reach the table
    ("one key written three times: one write, the last value, under the last event",
     {}, [("e1", "a", 1), ("e2", "a", 2), ("e3", "a", 3)], [("a", 3, "e3")]),
    ("two keys: one write each, in the order first written",
     {"b": 0}, [("e1", "a", 1), ("e2", "b", 5), ("e3", "a", 2)], [("a", 2, "e3"), ("b", 5, "e2")]),
    ("nothing written: nothing sent", {"a": 1}, [], []),
]


@pytest.mark.parametrize(("name", "before", "writes", "sent"), CASES, ids=[c[0] for c in CASES])
def test_each_key_is_written_once_under_its_last_event(
    name: str, before: dict[str, Any], writes: list[tuple[str, str, Any]], sent: list[tuple[str, Any, str]]
) -> None:
    table = RecordingTable(before)
    batch = Coalesced(table)
    events = {}
    for event_name, key, value in writes:
        event = events.setdefault(event_name, Event(event_name))
        with current(event):
            batch[key] = value
        assert batch[key] == value and batch.get(key) == value  # the batch reads its own write
    assert table.writes == []  # nothing reaches the table before the flush
    assert batch.flush() == len(sent)
    assert table.writes == sent
    assert batch.pending == {}


def test_reads_fall_through_to_the_table() -> None:
    table = RecordingTable({"a": 1})
    batch = Coalesced(table)
    assert batch["a"] == 1 and batch.get("a") == 1 and batch.get("zz", 7) == 7 and "a" in batch
    with current(Event("e")):
        batch["n"] = 2
    assert "n" in batch and sorted(batch) == ["a", "n"] and len(batch) == 2
    with pytest.raises(KeyError):
        batch["missing"]
    with pytest.raises(TypeError):
        del batch["a"]


class RecordingCounts:
    """A windowed count table: ``put`` lands in the window of the current event's time."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, int], Any] = {}
        self.writes: list[tuple[str, int, Any]] = []

    def window(self) -> int:
        event = current_event()
        return int(getattr(event, "name", "0:0").split(":")[1])  # "name:window"

    def current(self, key: str) -> Any:
        return self.data.get((key, self.window()))

    def put(self, key: str, value: Any) -> None:
        self.writes.append((key, self.window(), value))
        self.data[(key, self.window())] = value


COUNT_CASES = [
    # name, (event "name:window", key, value) writes, writes that reach the table
    ("one key, one window: one write", [("e1:0", "a", 1), ("e2:0", "a", 2)], [("a", 0, 2)]),
    ("one key across two windows: one write per window, each in its own",
     [("e1:0", "a", 1), ("e2:1", "a", 1), ("e3:0", "a", 2)], [("a", 0, 2), ("a", 1, 1)]),
]


@pytest.mark.parametrize(("name", "writes", "sent"), COUNT_CASES, ids=[c[0] for c in COUNT_CASES])
def test_counts_are_written_once_per_key_and_window(
    name: str, writes: list[tuple[str, str, Any]], sent: list[tuple[str, int, Any]]
) -> None:
    counts = RecordingCounts()
    batch = CoalescedCounts(counts, counts.window)
    for event_name, key, value in writes:
        with _at(event_name):
            assert batch.current(key) == (value - 1 or None)  # what the batch wrote last in this window
            batch.put(key, value)
    assert counts.writes == []
    assert batch.flush() == len(sent)
    assert counts.writes == sent


_EVENTS: dict[str, Event] = {}


def _at(name: str) -> Any:
    return current(_EVENTS.setdefault(name, Event(name)))


def test_a_write_made_outside_any_event_is_flushed_outside_any_event() -> None:
    table = RecordingTable({})
    batch = Coalesced(table)
    batch["a"] = 1  # no current event (a plain dict in tests, a timer)
    with current(Event("e")):
        assert batch.flush() == 1  # even while another event is current
    assert table.writes == [("a", 1, None)]
