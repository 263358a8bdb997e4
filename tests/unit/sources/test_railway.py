"""Railway watcher against the fake ``railway`` executable (real subprocesses, a real pseudo-terminal),
with an in-memory sender: every line once, in both modes, whichever end the server keeps."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from streamfix.errors import SourceError
from streamfix.runtime.settings import Settings
from streamfix.sources.base import BatchPipeline
from streamfix.sources.cursors import MemoryCursorStore
from streamfix.sources.railway import RailwayOptions, RailwayWatcher, prepare
from streamfix.sources.railway_cli import SpawnLimiter
from tests.fakes import RAILWAY_BIN, MemorySender
from tests.fakes.railway_data import expected, published, records, release, spawns

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FAKE_RAILWAY_LOG", str(tmp_path / "{service}.jsonl"))
    monkeypatch.setenv("FAKE_RAILWAY_STATE", str(tmp_path / "state.json"))
    monkeypatch.setenv("FAKE_RAILWAY_ARGV_LOG", str(tmp_path / "argv.jsonl"))
    monkeypatch.setenv("FAKE_RAILWAY_SERVICES", "api")
    monkeypatch.delenv("RUST_BACKTRACE", raising=False)
    (tmp_path / "api.jsonl").write_text("")
    return tmp_path


@contextlib.asynccontextmanager
async def watching(store: MemoryCursorStore, options: RailwayOptions, limiter: SpawnLimiter | None = None,
                   resume: bool = False) -> AsyncIterator[tuple[MemorySender, RailwayWatcher, asyncio.Task[None]]]:
    sender = MemorySender()
    async with BatchPipeline(Settings(batch_max_lines=200), sender, "railway", cursor_saver=store) as pipeline:
        watcher = RailwayWatcher(pipeline, command=[str(RAILWAY_BIN)], service="api", options=options,
                                 limiter=limiter or SpawnLimiter(per_minute=1000))
        if resume:
            watcher.resume(store.cursors[watcher.key])
        task = asyncio.create_task(watcher.run())
        try:
            yield sender, watcher, task
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def until_published(sender: MemorySender, want: int, task: asyncio.Task[None]) -> None:
    waiter = asyncio.ensure_future(sender.wait_lines(want))
    await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()


@pytest.mark.parametrize("keep", ["first", "last"])
@pytest.mark.parametrize("bounds", [("inclusive", "exclusive"), ("exclusive", "inclusive")])
async def test_polling_pages_capped_windows_whichever_end_the_server_keeps(
    fake: Path, monkeypatch: pytest.MonkeyPatch, keep: str, bounds: tuple[str, str]
) -> None:
    monkeypatch.setenv("FAKE_RAILWAY_KEEP", keep)
    monkeypatch.setenv("FAKE_RAILWAY_SINCE", bounds[0])
    monkeypatch.setenv("FAKE_RAILWAY_UNTIL", bounds[1])
    recs = records(1500, seed=3)
    release(fake / "api.jsonl", recs[:300])
    async with watching(MemoryCursorStore(), RailwayOptions(interval=1.0, page_lines=100)) as (sender, _, task):
        await until_published(sender, 300, task)
        release(fake / "api.jsonl", recs[300:])  # a burst of 1,200 lines between two polls
        await until_published(sender, len(recs), task)
        await asyncio.sleep(1.5)  # one more poll finds nothing new
    assert published(sender.lines) == expected(recs)


async def test_streaming_publishes_at_once_and_history_fills_what_the_stream_skipped(
    fake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_RAILWAY_DROP_EVERY", "700")
    monkeypatch.setenv("FAKE_RAILWAY_DROPS", "5")
    recs = records(4000, seed=5)
    release(fake / "api.jsonl", recs[:100])
    store = MemoryCursorStore()
    options = RailwayOptions(page_lines=200, verify_every=1.0)
    async with watching(store, options) as (sender, watcher, task):
        await until_published(sender, 100, task)
        for start in range(100, 4000, 1300):
            release(fake / "api.jsonl", recs[start:start + 1300])
            await asyncio.sleep(0.3)
        await until_published(sender, len(recs), task)
        assert watcher.stats.stream_lines > 0
    assert published(sender.lines) == expected(recs)
    runs = spawns(fake / "argv.jsonl")
    streams = [r for r in runs if r["tty"] and not any(a in r["argv"] for a in ("--since", "--lines"))]  # type: ignore[operator]
    assert len(streams) >= 2  # dropped streams were reconnected
    # a restart from the saved cursor publishes nothing again
    async with watching(store, options, resume=True) as (again, _, task):
        await asyncio.sleep(2.5)
        assert not task.done()
    assert again.lines == []


async def test_idle_polling_starts_the_cli_once_per_interval(fake: Path) -> None:
    release(fake / "api.jsonl", records(10))
    async with watching(MemoryCursorStore(), RailwayOptions(interval=1.0)) as (sender, _, task):
        await until_published(sender, 10, task)
        await asyncio.sleep(3.6)
    times = [float(r["t"]) for r in spawns(fake / "argv.jsonl")]  # type: ignore[arg-type]
    assert 4 <= len(times) <= 5
    # one start per interval (the times are taken by the started process: allow for its start-up jitter)
    assert times[-1] - times[0] >= (len(times) - 1) * 1.0 - 0.3


async def test_spawns_are_limited_per_minute(fake: Path) -> None:
    release(fake / "api.jsonl", records(3000))
    limiter = SpawnLimiter(per_minute=4, window_s=2.0)
    async with watching(MemoryCursorStore(), RailwayOptions(interval=1.0, page_lines=100), limiter) as (_, __, ___):
        await asyncio.sleep(3.0)
    times = sorted(float(r["t"]) for r in spawns(fake / "argv.jsonl"))  # type: ignore[arg-type]
    assert times
    assert all(sum(1 for u in times if t <= u < t + 1.5) <= 4 for t in times)  # start-up jitter: 0.5 s slack


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param({"FAKE_RAILWAY_NOT_LOGGED_IN": "1", "RUST_BACKTRACE": "1"},
                     r"^railway CLI failed \(exit 1\): Unauthorized\. Please login with `railway login`$",
                     id="not-logged-in-with-backtrace"),
        pytest.param({"FAKE_RAILWAY_NO_LINK": "1"},
                     r"^railway CLI failed \(exit 1\): No linked project found\. Run railway link to connect to a "
                     r"project \(Run `railway link` to connect to a project\.\)$", id="no-link"),
    ],
)
async def test_setup_errors_are_the_clis_own_message(fake: Path, monkeypatch: pytest.MonkeyPatch,
                                                     env: dict[str, str], message: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SourceError, match=message):
        await prepare(str(RAILWAY_BIN), [], None, SpawnLimiter())


async def test_without_service_every_service_of_the_project_is_watched(fake: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_RAILWAY_SERVICES", "api,worker,web")
    plan = await prepare(str(RAILWAY_BIN), [], None, SpawnLimiter())
    assert plan.services == ["api", "worker", "web"]
    plan = await prepare(str(RAILWAY_BIN), ["worker"], None, SpawnLimiter())
    assert plan.services == ["worker"]
    monkeypatch.setenv("FAKE_RAILWAY_NO_STATUS", "1")  # services cannot be listed: the linked one
    plan = await prepare(str(RAILWAY_BIN), [], None, SpawnLimiter())
    assert plan.services == [None]


# ---------------------------------------------------------------- the fake itself behaves like the CLI

def fake_run(*args: str, tty: bool = False, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("RUST_BACKTRACE", None) if "RUST_BACKTRACE" not in (env or {}) else None
    if tty:
        script = "import pty,sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)"
        return subprocess.run([sys.executable, "-c", script, str(RAILWAY_BIN), *args], capture_output=True, text=True,
                              env=full_env, timeout=20, stdin=subprocess.DEVNULL)
    return subprocess.run([str(RAILWAY_BIN), *args], capture_output=True, text=True, env=full_env, timeout=20)


def test_fake_prints_history_when_piped_and_caps_at_the_last_500(fake: Path) -> None:
    release(fake / "api.jsonl", records(700, dup_every=0, same_ts_every=0))
    out = fake_run("logs", "--json").stdout.splitlines()
    assert len(out) == 500
    assert '"GET /items/699' in out[-1]
    assert len(fake_run("logs", "--json", "--tail", "7").stdout.splitlines()) == 7


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["logs", "--since", "1767225600"], 1, "Invalid time format: '1767225600'"),
        (["logs", "--since", "2026-01-01T00:00:01Z", "--until", "2026-01-01T00:00:00Z"], 1,
         "--since time must be before --until time"),
        (["logs", "--lines", "x"], 2, "error: invalid value 'x' for '--lines <LINES>'"),
        (["logs", "--deployment", "abc", "--bogus"], 2, "error: unexpected argument '--bogus' found"),
    ],
)
def test_fake_rejects_what_the_cli_rejects(fake: Path, args: list[str], code: int, needle: str) -> None:
    result = fake_run(*args)
    assert result.returncode == code
    assert result.stderr.startswith(needle)


def test_fake_accepts_relative_and_rfc3339_times(fake: Path) -> None:
    release(fake / "api.jsonl", records(5, dup_every=0, same_ts_every=0))
    assert fake_run("logs", "--json", "--since", "1w").returncode == 0
    assert len(fake_run("logs", "--json", "--since", "2026-01-01T00:00:00+00:00").stdout.splitlines()) == 5


def test_fake_streams_only_on_a_terminal(fake: Path) -> None:
    release(fake / "api.jsonl", records(30, dup_every=0, same_ts_every=0))
    result = fake_run("logs", "--json", tty=True, env={"FAKE_RAILWAY_DROP_EVERY": "20"})
    assert result.returncode == 0
    assert len([x for x in result.stdout.splitlines() if x.strip()]) == 20
    assert [r["tty"] for r in spawns(fake / "argv.jsonl")] == [True]


async def test_a_window_too_dense_to_narrow_is_asked_for_more_lines(fake: Path) -> None:
    recs = records(150, same_ts_every=1, dup_every=0)  # one timestamp for all 150 lines
    release(fake / "api.jsonl", recs)
    async with watching(MemoryCursorStore(), RailwayOptions(interval=1.0, page_lines=50)) as (sender, _, task):
        await until_published(sender, 150, task)
    assert published(sender.lines) == expected(recs)
    assert any("500" in r["argv"] for r in spawns(fake / "argv.jsonl"))  # type: ignore[operator]


async def test_a_stream_that_only_repeats_old_lines_is_idle_and_history_reads_on(
    fake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_RAILWAY_DROP_EVERY", "50")  # every session re-sends the same first 50 lines
    recs = records(100, dup_every=0, same_ts_every=0)
    release(fake / "api.jsonl", recs)
    async with watching(MemoryCursorStore(), RailwayOptions(verify_every=1.0)) as (sender, _, task):
        await until_published(sender, 100, task)  # the other 50 come from history
        await asyncio.sleep(3.0)
    assert published(sender.lines) == expected(recs)
    runs = spawns(fake / "argv.jsonl")
    streams = [r for r in runs if r["tty"]]
    assert len(streams) <= 6  # restarted at most once per verify_every second once idle
