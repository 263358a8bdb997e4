"""KRaft cluster ids: never read as an option by the storage tool, as Kafka's ``Uuid.randomUuid()``."""

from __future__ import annotations

import base64
import itertools
import re
import uuid

import pytest

from streamfix.kafka.local import cluster_id

ID_SHAPE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{21}$")


def test_100000_generated_ids_never_start_with_a_dash() -> None:
    ids = [cluster_id() for _ in range(100_000)]
    assert all(ID_SHAPE.match(i) for i in ids)
    assert not [i for i in ids if i.startswith("-")]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    ("draws", "expected_draws"),
    [
        pytest.param([b"\xf8" + bytes(15), uuid.UUID(int=7).bytes], 2, id="dash-first-is-drawn-again"),
        pytest.param([b"\xfb" * 16, b"\xf9" * 16, uuid.UUID(int=9).bytes], 3, id="two-dashes-in-a-row"),
        pytest.param([bytes(16), uuid.UUID(int=5).bytes], 2, id="zero-uuid-is-reserved"),
        pytest.param([bytes(15) + b"\x01", uuid.UUID(int=5).bytes], 2, id="metadata-topic-id-is-reserved"),
        pytest.param([uuid.UUID(int=3).bytes], 1, id="ordinary-id-kept"),
    ],
)
def test_reserved_and_dash_ids_are_drawn_again(draws: list[bytes], expected_draws: int) -> None:
    source = iter(draws)
    counter = itertools.count(1)
    used = 0

    def draw() -> bytes:
        nonlocal used
        used = next(counter)
        return next(source)

    got = cluster_id(draw)
    assert used == expected_draws
    assert got == base64.urlsafe_b64encode(draws[expected_draws - 1]).decode().rstrip("=")
    assert base64.urlsafe_b64encode(draws[0]).decode().startswith("-") == (draws[0][0] >= 0xF8)
