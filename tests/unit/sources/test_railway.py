"""Railway watcher against the fake ``railway`` executable (a real subprocess), with an in-memory sender."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from streamfix.core.cursor import Backoff, Cursor, format_ts_ns, parse_ts_ns
from streamfix.errors import SourceError
from streamfix.runtime.settings import Settings
from streamfix.sources.base import BatchPipeline
from streamfix.sources.cursors import MemoryCursorStore
from streamfix.sources.railway import RailwayWatcher, parse_railway_line
from tests.fakes import RAILWAY_BIN, MemorySender, railway_json_lines

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param('{"message":"hi","timestamp":"2026-01-01T00:00:00.000000001Z","deploymentId":"d",'
                     '"deploymentInstanceId":"r"}', ("hi", "d", "r"), id="all-labels"),
        pytest.param('{"lvl":"warn","replica":"r2","timestamp":"2026-01-01T00:00:00Z","message":"x"}',
                     ("x", "-", "r2"), id="other-order-and-keys"),
        pytest.param('{"timestamp":"2026-01-01T00:00:00Z","message":{"nested":1}}', ('{"nested":1}', "-", "-"),
                     id="message-not-a-string"),
    ],
)
def test_parse_railway_line(raw: str, expected: tuple[str, str, str]) -> None:
    parsed = parse_railway_line(raw)
    assert parsed is not None
    assert (parsed.message.replace(" ", "").replace("'", '"'), parsed.deployment, parsed.replica) == expected


@pytest.mark.parametrize("raw", ["not json", '{"message":"no timestamp"}', '{"timestamp":"soon","message":""}', "[]"])
def test_parse_railway_line_rejects(raw: str) -> None:
    assert parse_railway_line(raw) is None


@pytest.fixture
def fake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FAKE_RAILWAY_LOG", str(tmp_path / "log.jsonl"))
    monkeypatch.setenv("FAKE_RAILWAY_STATE", str(tmp_path / "state.json"))
    monkeypatch.setenv("FAKE_RAILWAY_ARGV_LOG", str(tmp_path / "argv.jsonl"))
    return tmp_path


@contextlib.asynccontextmanager
async def watching(store: MemoryCursorStore, **kwargs: object) -> AsyncIterator[tuple[MemorySender, RailwayWatcher]]:
    sender = MemorySender()
    async with BatchPipeline(Settings(batch_max_lines=100), sender, "railway", cursor_saver=store) as pipeline:
        watcher = RailwayWatcher(pipeline, railway_bin=str(RAILWAY_BIN), service="api",
                                 backoff=Backoff(initial=0.01, maximum=0.05), **kwargs)  # type: ignore[arg-type]
        task = asyncio.create_task(watcher.run())
        try:
            yield sender, watcher
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_forced_exits_gaps_and_a_restart_deliver_every_line_once(
    fake_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = railway_json_lines(3000)
    (fake_env / "log.jsonl").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("FAKE_RAILWAY_EXIT_AFTER", "400")
    monkeypatch.setenv("FAKE_RAILWAY_GAP", "50")
    store = MemoryCursorStore()
    async with watching(store, environment="prod") as (sender, watcher):
        await sender.wait_lines(1000)
        assert watcher.runs >= 3  # the CLI exited after 400 lines and was respawned
    first = sender.lines
    cursor = store.cursors["railway:api@prod"]
    async with watching(store, environment="prod", cursor=cursor) as (sender2, _):
        await sender2.wait_lines(3000 - len(first))
    assert sorted(first + sender2.lines) == sorted(lines)
    argvs = [orjson.loads(x) for x in (fake_env / "argv.jsonl").read_text().splitlines()]
    assert all(a[:6] == ["logs", "--json", "-s", "api", "-e", "prod"] for a in argvs)
    assert any("--until" in a for a in argvs) or any("--since" in a for a in argvs)


async def test_capped_history_is_paged_from_the_advancing_cursor(
    fake_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = railway_json_lines(1000)
    (fake_env / "log.jsonl").write_text("\n".join(lines) + "\n")
    (fake_env / "state.json").write_text('{"now": 1000}')  # everything is history already
    monkeypatch.setenv("FAKE_RAILWAY_HISTORY_MAX", "150")
    first_ts = orjson.loads(lines[0])["timestamp"]
    start = Cursor(parse_ts_ns(first_ts) - 1, format_ts_ns(parse_ts_ns(first_ts) - 1), set())
    async with watching(MemoryCursorStore(), cursor=start) as (sender, _):
        await sender.wait_lines(1000)
    assert sorted(sender.lines) == sorted(lines)
    argvs = [orjson.loads(x) for x in (fake_env / "argv.jsonl").read_text().splitlines()]
    assert sum("--since" in a for a in argvs) >= 7  # 1000 lines, 150 per answer


async def test_repeated_timestamps_are_skipped_by_the_cli_and_not_duplicated(fake_env: Path) -> None:
    t0 = 1_767_225_600_000_000_000
    stamps = [t0, t0 + 1, t0 + 1, t0 + 1, t0 + 2, t0 + 2, t0 + 3]
    lines = [orjson.dumps({"message": f"m{i}", "timestamp": format_ts_ns(ts)}).decode() for i, ts in enumerate(stamps)]
    (fake_env / "log.jsonl").write_text("\n".join(lines) + "\n")
    store = MemoryCursorStore()
    async with watching(store) as (sender, _):
        await sender.wait_lines(4)
    # Like the real CLI, the fake drops lines whose timestamp is not later than the previous line's.
    assert [orjson.loads(x)["message"] for x in sender.lines] == ["m0", "m1", "m4", "m6"]


async def test_equal_timestamps_are_kept_and_exact_repeats_dropped(
    fake_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t0 = 1_767_225_600_000_000_000
    stamps = [t0, t0 + 1, t0 + 1, t0 + 1, t0 + 2]
    lines = [orjson.dumps({"message": f"m{i}", "timestamp": format_ts_ns(ts)}).decode() for i, ts in enumerate(stamps)]
    (fake_env / "log.jsonl").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("FAKE_RAILWAY_KEEP_REPEATS", "1")
    monkeypatch.setenv("FAKE_RAILWAY_ECHO", "2")  # lines 0, 2 and 4 are printed twice
    async with watching(MemoryCursorStore()) as (sender, watcher):
        await sender.wait_lines(5)
        assert watcher.dedupe.duplicates == 3
    assert [orjson.loads(x)["message"] for x in sender.lines] == ["m0", "m1", "m2", "m3", "m4"]


async def test_not_logged_in_is_fatal_with_the_cli_message(fake_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (fake_env / "log.jsonl").write_text("")
    monkeypatch.setenv("FAKE_RAILWAY_NOT_LOGGED_IN", "1")
    sender = MemorySender()
    async with BatchPipeline(Settings(), sender, "railway") as pipeline:
        watcher = RailwayWatcher(pipeline, railway_bin=str(RAILWAY_BIN))
        with pytest.raises(SourceError, match=r"exit 1\): Unauthorized. Please login with `railway login`"):
            await watcher.run()


async def test_missing_cli_is_fatal() -> None:
    async with BatchPipeline(Settings(), MemorySender(), "railway") as pipeline:
        watcher = RailwayWatcher(pipeline, railway_bin="/nonexistent/railway")
        with pytest.raises(SourceError, match="railway CLI not found"):
            await watcher.run()


async def test_interval_mode_polls_history(fake_env: Path) -> None:
    lines = railway_json_lines(50)
    (fake_env / "log.jsonl").write_text("\n".join(lines) + "\n")
    (fake_env / "state.json").write_text('{"now": 50}')
    cursor_ts = orjson.loads(lines[9])["timestamp"]
    store = MemoryCursorStore()
    start = Cursor(parse_ts_ns(cursor_ts), cursor_ts, set())
    async with watching(store, interval=0.01, cursor=start) as (sender, _):
        await sender.wait_lines(41)
    assert sorted(sender.lines) == sorted(lines[9:])  # the cursor line is new here: its hash was not in the cursor
    argvs = [orjson.loads(x) for x in (fake_env / "argv.jsonl").read_text().splitlines()]
    assert argvs[0][-2:] == ["--since", cursor_ts]
