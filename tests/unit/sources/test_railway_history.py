"""Pure parts of the Railway source: line identity, the ledger, history windows, the CLI's error line."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from pathlib import Path

import pytest

from streamfix.core.cursor import format_ts_ns
from streamfix.core.railway_history import (
    Ledger,
    Tally,
    Window,
    cli_error,
    parse_line,
    parse_since,
    plan_windows,
    split_window,
    strip_controls,
)
from streamfix.sources.railway import services_from_status
from streamfix.sources.railway_cli import SpawnLimiter, resolve_command

MS = 1_000_000


def test_key_order_does_not_change_a_lines_identity() -> None:
    a = parse_line('{"message":"boom","timestamp":"2026-01-01T00:00:00.5Z","level":"error","replica":"r1"}')
    b = parse_line('{"replica":"r1","level":"error","timestamp":"2026-01-01T00:00:00.500Z","message":"boom"}')
    c = parse_line('{"replica":"r2","level":"error","timestamp":"2026-01-01T00:00:00.5Z","message":"boom"}')
    assert a is not None and b is not None and c is not None
    assert (a.ts_ns, a.digest) == (b.ts_ns, b.digest)
    assert a.digest != c.digest  # attributes are part of the identity
    assert (a.deployment, a.replica) == ("", "r1")


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[]",
        '{"message":"x"}',
        '{"timestamp":"soon","message":"x"}',
        '{"timestamp":5,"message":"x"}',
    ],
)
def test_lines_without_a_timestamp_are_not_log_lines(raw: str) -> None:
    assert parse_line(raw) is None


def test_an_attribute_may_overwrite_message() -> None:
    line = parse_line('{"timestamp":"2026-01-01T00:00:00Z","message":{"k":1},"deploymentId":"d-1"}')
    assert line is not None and line.deployment == "d-1"


def test_ledger_counts_copies_per_observation() -> None:
    ledger = Ledger(overlap_ns=MS)
    first, second = Tally(), Tally()
    # one run prints the line twice (the app logged it twice): both copies are new
    assert ledger.wanted(10 * MS, "h", first.see(10 * MS, "h"))
    ledger.record(10 * MS, "h", 1)
    assert ledger.wanted(10 * MS, "h", first.see(10 * MS, "h"))
    ledger.record(10 * MS, "h", 2)
    # an overlapping run sees both again: nothing new; a third copy would be
    assert not ledger.wanted(10 * MS, "h", second.see(10 * MS, "h"))
    assert not ledger.wanted(10 * MS, "h", second.see(10 * MS, "h"))
    assert ledger.wanted(10 * MS, "h", second.see(10 * MS, "h"))


def test_ledger_forgets_what_is_complete_and_survives_a_cursor() -> None:
    ledger = Ledger(overlap_ns=MS)
    for ts in (1 * MS, 5 * MS, 9 * MS):
        ledger.record(ts, "a", 1)
    ledger.record(9 * MS, "b", 2)
    ledger.advance(6 * MS)
    assert ledger.floor() == 5 * MS
    assert sorted(ledger.counts) == [5 * MS, 9 * MS]
    assert not ledger.wanted(2 * MS, "new", 1)  # before the floor: complete already
    restored = Ledger.from_cursor(ledger.to_cursor(), MS, [(12 * MS, "c#2")])
    assert restored.complete_ns == 6 * MS
    assert restored.published(9 * MS, "b") == 2
    assert restored.published(12 * MS, "c") == 2
    assert ledger.to_cursor().ts_text == format_ts_ns(6 * MS)


@pytest.mark.parametrize(
    ("window", "first", "last", "expected"),
    [
        pytest.param(
            Window(0, 100 * MS),
            60 * MS,
            100 * MS,
            [Window(0, 61 * MS), Window(99 * MS, 100 * MS)],
            id="server-kept-the-newest",
        ),
        pytest.param(
            Window(0, 100 * MS),
            0,
            40 * MS,
            [Window(0, 1 * MS), Window(39 * MS, 100 * MS)],
            id="server-kept-the-oldest",
        ),
        pytest.param(
            Window(10 * MS, None),
            50 * MS,
            80 * MS,
            [Window(10 * MS, 51 * MS), Window(79 * MS, None)],
            id="open-window",
        ),
        pytest.param(
            Window(0, 100 * MS),
            0,
            100 * MS,
            [Window(0, 1 * MS), Window(99 * MS, 100 * MS)],
            id="lines-span-the-window-only-its-ends-are-open",
        ),
        pytest.param(Window(0, 2 * MS), 0, 2 * MS, [], id="too-narrow-to-split"),
        pytest.param(
            Window(0, 100 * MS),
            99 * MS + MS // 2,
            99 * MS + MS // 2,
            [
                Window(0, 99 * MS + MS // 2),
                Window(98 * MS + MS // 2, 100 * MS),
                Window(99 * MS + MS // 2, 100 * MS),
            ],
            id="lines-at-one-end",
        ),
    ],
)
def test_split_window(window: Window, first: int, last: int, expected: list[Window]) -> None:
    assert split_window(window, first, last, MS) == expected
    for child in expected:
        assert child.inside(window)


def test_windows_are_planned_from_the_streamed_lines() -> None:
    stamps = Counter({t * MS: 1 for t in range(1, 11)}) + Counter({5 * MS: 5})
    windows = plan_windows(0, 10 * MS, stamps, target=5)
    assert windows[0] == Window(0, 5 * MS)
    assert windows[-1].until_ns == 10 * MS
    assert all(w.since_ns < (w.until_ns or 0) for w in windows)
    covered = [(w.since_ns, w.until_ns) for w in windows]
    assert all(b[0] == a[1] for a, b in itertools.pairwise(covered))  # contiguous


def test_window_arguments_are_rfc3339_with_nanoseconds() -> None:
    assert Window(1, 2).args() == [
        "--since",
        "1970-01-01T00:00:00.000000001Z",
        "--until",
        "1970-01-01T00:00:00.000000002Z",
    ]


BACKTRACE = """No linked project found. Run railway link to connect to a project

Stack backtrace:
   0: anyhow::error::<impl anyhow::Error>::msg
             at /root/.cargo/registry/src/anyhow-1.0.100/src/backtrace.rs:27:14
   1: railway::main
   9: _start
  \x1b[36m→\x1b[0m Run `railway link` to connect to a project."""


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        pytest.param(
            "Unauthorized. Please login with `railway login`\n",
            "Unauthorized. Please login with `railway login`",
            id="not-logged-in",
        ),
        pytest.param(
            "Unauthorized. Please login with `railway login`\n\nStack backtrace:\n   0: x\n   9: _start\n",
            "Unauthorized. Please login with `railway login`",
            id="backtrace",
        ),
        pytest.param(
            BACKTRACE,
            "No linked project found. Run railway link to connect to a project "
            "(Run `railway link` to connect to a project.)",
            id="no-link-hint-after-frames",
        ),
        pytest.param(
            "error: unexpected argument '--x' found\n\nUsage: railway logs [OPTIONS]\n",
            "error: unexpected argument '--x' found",
            id="clap",
        ),
        pytest.param(
            "Service 'x' not found\n\nCaused by:\n    Service \"x\" not found.\n",
            "Service 'x' not found",
            id="caused-by",
        ),
        pytest.param("", "exit status 1, no message on stderr", id="silent"),
    ],
)
def test_cli_error_is_one_meaningful_line(stderr: str, expected: str) -> None:
    assert cli_error(stderr, 1) == expected


def test_control_sequences_are_stripped() -> None:
    assert strip_controls('\x1b[2K\x1b[1;32m{"a":1}\x1b[0m\x07') == '{"a":1}'


@pytest.mark.parametrize("shared", [False, True], ids=["in-process", "state-file"])
async def test_spawn_limiter_allows_n_per_window(shared: bool, tmp_path: Path) -> None:
    now = [1000.0]
    state = tmp_path / "starts" if shared else None
    limiter = SpawnLimiter(per_minute=3, window_s=60.0, clock=lambda: now[0], state_path=state)
    for _ in range(3):
        await limiter.acquire()
    waiting = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    now[0] = 1060.0
    waiting.cancel()
    await limiter.acquire()  # the window has passed
    assert limiter.total == 4
    if state is not None:  # a second process sees the first one's starts
        other = SpawnLimiter(per_minute=3, window_s=60.0, clock=lambda: now[0], state_path=state)
        assert [other._try(now[0]) > 0 for _ in range(3)] == [False, False, True]


def test_npx_is_used_only_when_railway_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    assert resolve_command("railway", lambda name: f"/usr/bin/{name}") == ["railway"]
    assert resolve_command("railway", lambda name: "/usr/bin/npx" if name == "npx" else None) == [
        "npx",
        "--yes",
        "@railway/cli",
    ]
    assert "npx @railway/cli" in capsys.readouterr().err
    with pytest.raises(Exception, match="railway CLI not found"):
        resolve_command("/opt/railway", lambda name: "/usr/bin/npx" if name == "npx" else None)


STATUS = """{
  "id": "prj-1", "name": "shop",
  "environments": {"edges": [
    {"node": {"id": "env-1", "name": "production", "serviceInstances": {"edges": [
      {"node": {"serviceName": "api"}}, {"node": {"serviceName": "worker"}}]}}},
    {"node": {"id": "env-2", "name": "staging",
              "serviceInstances": {"edges": [{"node": {"serviceName": "api"}}]}}}
  ]},
  "services": {"edges": [{"node": {"id": "s1", "name": "api"}}, {"node": {"id": "s2", "name": "worker"}},
                         {"node": {"id": "s3", "name": "web"}}]}
}"""


@pytest.mark.parametrize(
    ("environment", "expected"),
    [(None, ["api", "worker", "web"]), ("production", ["api", "worker"]), ("env-2", ["api"])],
)
def test_services_from_status(environment: str | None, expected: list[str]) -> None:
    assert services_from_status(STATUS, environment) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", 970 * 10**9),
        ("2m", 880 * 10**9),
        ("1w", 1000 * 10**9 - 604800 * 10**9),
        ("1970-01-01T00:00:10.5Z", 10_500_000_000),
        ("1970-01-01T01:00:00+01:00", 0),
    ],
)
def test_parse_since(text: str, expected: int) -> None:
    assert parse_since(text, 1000 * 10**9) == expected


@pytest.mark.parametrize("text", ["1767225600", "yesterday", "5x"])
def test_parse_since_rejects_what_the_cli_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid time"):
        parse_since(text, 0)


async def test_spawn_limiter_without_a_writable_state_file_limits_the_process(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    limiter = SpawnLimiter(
        per_minute=2, window_s=60.0, state_path=blocked / "sub" / "starts"
    )  # parent is a file
    await limiter.acquire()
    await limiter.acquire()
    assert limiter._try(limiter._clock()) > 0
