"""The demo moves the sample's timestamps to just before now, keeping their spacing."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest

from streamfix.tools.demo import shift_to_recent, try_commands


def _ts(line: str) -> float:
    return datetime.fromisoformat(orjson.loads(line)["timestamp"].replace("Z", "+00:00")).timestamp()


@pytest.mark.parametrize(
    ("lines", "kept"),
    [
        pytest.param(
            [
                '{"message":"a","timestamp":"2024-01-01T00:00:00Z"}',
                '{"message":"b","timestamp":"2024-01-01T00:04:00.500000Z"}',
            ],
            [],
            id="two-json-lines",
        ),
        pytest.param(
            ["plain text line", '{"message":"b","timestamp":"2024-01-01T00:00:10Z"}'],
            [0],
            id="text-line-untouched",
        ),
        pytest.param(
            [
                '{"message":"a","timestamp":"not a time"}',
                '{"message":"b","timestamp":"2024-01-01T00:00:10Z"}',
            ],
            [0],
            id="bad-timestamp-untouched",
        ),
    ],
)
def test_shift_to_recent(lines: list[str], kept: list[int]) -> None:
    now = 1_800_000_000.0
    out = shift_to_recent(lines, now)
    for i in kept:
        assert out[i] == lines[i]
    shifted = [i for i in range(len(lines)) if i not in kept]
    newest = max(_ts(out[i]) for i in shifted)
    assert newest == pytest.approx(now - 1.0, abs=1e-3)
    if len(shifted) == 2:
        assert _ts(out[1]) - _ts(out[0]) == pytest.approx(_ts(lines[1]) - _ts(lines[0]), abs=1e-3)
    for i in shifted:
        assert orjson.loads(out[i])["message"] == orjson.loads(lines[i])["message"]


def test_shift_without_timestamps_returns_lines() -> None:
    assert shift_to_recent(["a", "b"], 1.0) == ["a", "b"]


def test_try_commands_name_the_token_only_on_posts() -> None:
    cmds = try_commands("http://localhost:8000/error-monitor", "TOKEN", "fp1:abc")
    assert all(("TOKEN" in c) == c.startswith("curl -X POST") for c in cmds)
    assert "curl http://localhost:8000/error-monitor/health" in cmds
