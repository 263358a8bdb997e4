"""Modes, budget and parking of the fix service (fake Anthropic and GitHub, real bare remote)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from streamfix.fixing.gitops import GitOps
from streamfix.fixing.service import FixService
from tests.fakes.anthropic_server import FakeAnthropic, Reply, error_reply, tool_reply
from tests.fakes.github_server import FakeGitHub
from tests.unit.fixing import fixtures
from tests.unit.fixing.helpers import (
    Recorder,
    SampleRepo,
    analysis,
    build_service,
    fix_settings,
    genuine_traceback,
    git,
    make_request,
)

# the shared fixtures of the fixer tests
sample_repo = fixtures.sample_repo
fake_claude = fixtures.fake_claude
fake_github = fixtures.fake_github


def remote_heads(remote: Path) -> str:
    return git(remote, "for-each-ref", "--format=%(refname) %(objectname)")


async def test_without_api_key_the_rule_based_suggestion_is_kept(
    sample_repo: SampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    settings = fix_settings(tmp_path, sample_repo.remote, anthropic_api_key=None)
    rec = Recorder()
    result = await build_service(settings, fake_github.base_url, rec).handle(
        make_request(genuine_traceback(sample_repo.work))
    )
    assert rec.statuses == ["pending", "skipped_no_api_key"]
    assert result.suggested_fix == "Guard against empty collections before dividing."
    assert "ANTHROPIC_API_KEY" in result.error


async def test_from_settings_without_keys_builds_no_adapters(tmp_path: Path) -> None:
    rec = Recorder()
    service = FixService.from_settings(
        fix_settings(
            tmp_path, tmp_path / "none.git", anthropic_api_key=None, github_token=None, repo_url=None
        ),
        publish=rec.publish,
    )
    result = await service.handle(
        make_request('  File "/app/shop/pricing.py", line 14, in f\nZeroDivisionError: x')
    )
    assert result.status == "skipped_no_api_key"


async def test_without_github_token_stops_at_a_local_branch(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, tmp_path: Path
) -> None:
    fake_claude.script.append(tool_reply(**analysis()))
    settings = fix_settings(
        tmp_path, sample_repo.remote, anthropic_base_url=fake_claude.base_url, github_token=None
    )
    before = remote_heads(sample_repo.remote)
    rec = Recorder()
    result = await build_service(settings, "http://127.0.0.1:9", rec).handle(
        make_request(genuine_traceback(sample_repo.work))
    )
    assert rec.statuses == ["pending", "analyzing", "fix_generated", "fix_generated"]
    assert result.branch is not None
    assert "GITHUB_TOKEN" in result.error
    assert "not pushed" in result.error
    assert remote_heads(sample_repo.remote) == before
    clone = settings.fix_clone_dir
    assert git(clone, "rev-parse", result.branch) == result.commit_sha


async def test_dry_run_produces_the_patch_only(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_claude.script.append(tool_reply(**analysis()))
    settings = fix_settings(tmp_path, sample_repo.remote, anthropic_base_url=fake_claude.base_url)
    before = remote_heads(sample_repo.remote)
    rec = Recorder()
    service = build_service(settings, fake_github.base_url, rec)
    result = await service.handle(make_request(genuine_traceback(sample_repo.work), dry_run=True))
    assert result.status == "fix_generated"
    assert "+    if not orders:" in result.diff
    assert result.branch is None
    assert remote_heads(sample_repo.remote) == before
    assert fake_github.pulls == {}
    assert git(settings.fix_clone_dir, "status", "--porcelain") == ""
    assert list(service.store.values()) == []


async def test_low_confidence_opens_no_pr(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_claude.script.append(tool_reply(**analysis(confidence=0.4)))
    settings = fix_settings(tmp_path, sample_repo.remote, anthropic_base_url=fake_claude.base_url)
    before = remote_heads(sample_repo.remote)
    result = await build_service(settings, fake_github.base_url, Recorder()).handle(
        make_request(genuine_traceback(sample_repo.work))
    )
    assert result.status == "fix_generated"
    assert "0.40 is below 0.70" in result.error
    assert result.diff
    assert remote_heads(sample_repo.remote) == before
    assert fake_github.pulls == {}


async def test_create_pr_false_stops_at_the_pushed_branch(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_claude.script.append(tool_reply(**analysis()))
    settings = fix_settings(tmp_path, sample_repo.remote, anthropic_base_url=fake_claude.base_url)
    result = await build_service(settings, fake_github.base_url, Recorder()).handle(
        make_request(genuine_traceback(sample_repo.work), create_pr=False)
    )
    assert result.status == "branch_pushed"
    assert git(sample_repo.remote, "rev-parse", str(result.branch)) == result.commit_sha
    assert fake_github.pulls == {}


async def test_budget_skips_analysis(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_claude.responder = lambda body: tool_reply(**analysis())
    settings = fix_settings(
        tmp_path, sample_repo.remote, anthropic_base_url=fake_claude.base_url, fix_max_calls_per_hour=1
    )
    service = build_service(settings, fake_github.base_url, Recorder())
    tb = genuine_traceback(sample_repo.work)
    first = await service.handle(make_request(tb, create_pr=False))
    second = await service.handle(make_request(tb, fingerprint="fp1:two", request_id="fp1:two#1"))
    assert (first.status, second.status) == ("branch_pushed", "skipped_budget")
    assert "1 calls per hour" in second.error
    assert len(fake_claude.requests) == 1


async def test_model_unavailable_parks_then_the_parked_request_succeeds(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_claude.script.extend([error_reply(529), error_reply(429, **{"retry-after": "0"})])
    settings = fix_settings(tmp_path, sample_repo.remote, anthropic_base_url=fake_claude.base_url)
    now = [1_000_000.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    rec = Recorder()
    service = build_service(settings, fake_github.base_url, rec, clock=lambda: now[0], sleep=sleep)
    request = make_request(genuine_traceback(sample_repo.work))
    parked = await service.handle(request)
    assert parked.status == "pending"
    assert parked.error.startswith("parked until 1000060:")
    assert rec.parked == [(request, 1_000_060.0)]
    # the re-queued copy waits for its not-before time, then runs normally
    fake_claude.script.append(tool_reply(**analysis()))
    result = await service.handle(request, not_before=rec.parked[0][1])
    assert slept == [60.0]
    assert result.status == "pr_open"
    assert len(fake_github.pulls) == 1


async def test_invalid_request_on_the_topic_is_skipped(tmp_path: Path) -> None:
    settings = fix_settings(tmp_path, tmp_path / "none.git")
    service = FixService(settings, publish=Recorder().publish, git=GitOps(tmp_path / "c", "x", "main"))
    assert await service.handle_raw(b'{"not": "a request"}') is None
    assert await service.handle_raw(b"\xff") is None


async def test_concurrency_limit_holds_claude_calls_to_one_at_a_time(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    releases = [threading.Event() for _ in range(3)]
    fake_claude.script.extend(Reply(tool_input=analysis(), release=event) for event in releases)
    settings = fix_settings(
        tmp_path, sample_repo.remote, anthropic_base_url=fake_claude.base_url, fix_concurrency=1
    )
    service = build_service(settings, fake_github.base_url, Recorder())
    tb = genuine_traceback(sample_repo.work)
    requests = [
        make_request(tb, fingerprint=f"fp1:c{i}", request_id=f"fp1:c{i}#1", create_pr=False) for i in range(3)
    ]
    running = asyncio.gather(*(service.handle(r) for r in requests))
    for n, event in enumerate(releases, 1):
        assert await asyncio.to_thread(fake_claude.wait_for_requests, n)
        event.set()
    results = await running
    assert [r.status for r in results] == ["branch_pushed"] * 3
    assert fake_claude.max_in_flight == 1
