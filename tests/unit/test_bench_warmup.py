"""The pipeline benchmark's warm-up corpus: streams of their own, each ending outside any error unit,
so nothing of it is flushed (and counted) during the measured run."""

from __future__ import annotations

import orjson
import pytest

from streamfix.bench.pipeline import _payloads, _synth, _warmup_corpus
from streamfix.core.pipeline import has_open_units, run_batch


@pytest.mark.parametrize("lines", [0, 5_000, 40_000])
def test_warmup_streams_are_their_own_and_end_closed(lines: int) -> None:
    warm, events = _warmup_corpus(lines, 0.02, 4)
    if lines == 0:
        assert (warm, events) == ({}, 0)
        return
    measured = set(_synth(1_000, 0.02, 4, None, seed=1))
    assert warm and not set(warm) & measured  # keys of their own: the measured streams start clean
    assert all(key.endswith(":warmup") for key in warm)
    total = 0
    for stream_lines in warm.values():
        result = run_batch(stream_lines)
        assert not has_open_units(result.state)
        total += len(result.events)
        assert orjson.loads(stream_lines[-1])["message"].startswith("warm-up done")
    assert total == events > 0
    assert sum(len(v) for v in warm.values()) >= lines


def test_payloads_interleave_streams_in_sequence_order() -> None:
    warm, _ = _warmup_corpus(6_000, 0.02, 3)
    payloads = _payloads(warm, 500, "warm")
    seqs = [orjson.loads(value)["seq"] for _, value in payloads]
    assert seqs == sorted(seqs)
    assert {key for key, _ in payloads} == set(warm)
