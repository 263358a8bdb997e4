"""Content-named batch ids: equal batches, equal ids; any difference, another id."""

from __future__ import annotations

import pytest

from streamfix.sources.base import content_batch_id

ID = content_batch_id("loki-scan")
BASE = ("loki/{app=\"api\"}", ["a", "b"], [1, 2])


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(("loki/{app=\"web\"}", ["a", "b"], [1, 2]), id="stream"),
        pytest.param((BASE[0], ["a", "c"], [1, 2]), id="line"),
        pytest.param((BASE[0], ["a", "b"], [1, 3]), id="timestamp"),
        pytest.param((BASE[0], ["ab"], [1]), id="lines-joined"),
        pytest.param((BASE[0], ["a", "b", ""], [1, 2, 3]), id="extra-empty-line"),
        pytest.param((BASE[0], ["a"], [1]), id="fewer-lines"),
    ],
)
def test_any_difference_gives_another_id(other: tuple[str, list[str], list[int]]) -> None:
    assert ID(*other) != ID(*BASE)


def test_equal_batches_equal_ids_within_the_schema_limit() -> None:
    assert ID(*BASE) == ID(BASE[0], list(BASE[1]), list(BASE[2]))
    assert ID(*BASE).startswith("loki-scan:1:2:")
    assert len(ID("s" * 600, ["x" * 10_000] * 100, list(range(100)))) <= 256
