"""The fix service end to end against the fake Anthropic and GitHub servers and a real bare remote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from streamfix.core.issuelink import IssueLinks
from streamfix.runtime.metrics import REGISTRY
from tests.fakes.anthropic_server import FakeAnthropic, tool_reply
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
    run_app,
)

BRANCH = "auto-fix/internal_error/"

# the shared fixtures of the fixer tests
sample_repo = fixtures.sample_repo
fake_claude = fixtures.fake_claude
fake_github = fixtures.fake_github


def remote_branches(remote: Path) -> list[str]:
    out = git(remote, "for-each-ref", "--format=%(refname:short)", "refs/heads/")
    return sorted(out.split())


def metric(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


async def test_request_to_pr_open_to_merged(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_claude.script.append(tool_reply(**analysis()))
    settings = fix_settings(tmp_path, sample_repo.remote, anthropic_base_url=fake_claude.base_url)
    rec = Recorder()
    service = build_service(settings, fake_github.base_url, rec)
    request = make_request(genuine_traceback(sample_repo.work))

    final = await service.handle(request)

    assert rec.statuses == ["pending", "analyzing", "fix_generated", "branch_pushed", "pr_open"]
    assert final.status == "pr_open"
    assert final.pr_number == 1
    assert final.pr_url == f"{fake_github.base_url}/acme/shop/pull/1"
    assert (final.input_tokens, final.output_tokens, final.confidence) == (1200, 300, 0.92)
    assert final.root_cause.startswith("average_order_value divides")
    assert final.branch is not None
    assert final.branch.startswith(BRANCH)
    # one commit on top of main, on the bare remote, touching only the fixed file
    assert remote_branches(sample_repo.remote) == sorted(["main", final.branch])
    assert git(sample_repo.remote, "rev-list", "--count", f"main..{final.branch}") == "1"
    assert git(sample_repo.remote, "diff", "--name-only", "main", final.branch) == "shop/pricing.py"
    assert git(sample_repo.remote, "rev-parse", final.branch) == final.commit_sha
    subject = git(sample_repo.remote, "log", "-1", "--format=%s", final.branch)
    assert subject == "fix(internal_error): ZeroDivisionError (pattern f188f4076b0e)"
    # the fixed app no longer crashes
    check = tmp_path / "check"
    git(tmp_path, "clone", "-q", "-b", final.branch, str(sample_repo.remote), str(check))
    assert run_app(check) == 0
    # the PR: draft, labels, body
    pull = fake_github.pulls[1]
    assert (pull.head, pull.base, pull.draft) == (final.branch, "main", True)
    assert pull.labels == ["auto-fix", "internal_error", "severity:high"]
    for expected in (
        "| Occurrences | 42 |",
        "| First seen | 2025-11-28 03:20:00 UTC |",
        "## Root cause",
        "| Confidence | 0.92 |",
        "ZeroDivisionError: division by zero",
        "## Sample traceback",
    ):
        assert expected in pull.body
    # the prompt carried the source window around the failing line and its imports
    prompt = fake_claude.requests[0]["messages"][0]["content"]
    assert "# file: shop/pricing.py" in prompt
    assert "   14 |     return total / len(orders)" in prompt
    assert "from collections.abc import Sequence" in prompt
    # the tracker: still open, then merged
    assert await service.track() == []
    merged_before = metric("streamfix_prs_merged_total")
    fake_github.merge(1)
    changed = await service.track()
    assert [r.status for r in changed] == ["merged"]
    assert rec.results[-1].status == "merged"
    # the merge time is GitHub's (whole seconds), not the time the tracker noticed it
    from datetime import datetime
    github_time = datetime.fromisoformat(str(fake_github.pulls[1].merged_at).replace("Z", "+00:00")).timestamp()
    assert rec.results[-1].merged_at == github_time
    assert rec.results[-1].pr_opened_at is not None and rec.results[-1].pr_opened_at <= github_time + 1
    assert metric("streamfix_prs_merged_total") - merged_before == 1
    assert metric("streamfix_fix_success_ratio") == 1.0
    assert fake_github.pulls[1].merged  # merged by the fake (a human), never by the service
    assert not [c for c in fake_github.calls if c[1].endswith("/merge")]


async def test_closed_pr_lowers_the_success_ratio(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_claude.responder = lambda body: tool_reply(**analysis())
    settings = fix_settings(tmp_path, sample_repo.remote, anthropic_base_url=fake_claude.base_url)
    rec = Recorder()
    service = build_service(settings, fake_github.base_url, rec)
    tb = genuine_traceback(sample_repo.work)
    issue = fake_github.add_issue("Nightly report crashes", "Seen as pattern fp1:other in production.")
    first = await service.handle(make_request(tb))
    second = await service.handle(make_request(tb, fingerprint="fp1:other", request_id="fp1:other#1"))
    assert (issue, first.pr_number, second.pr_number) == (1, 2, 3)
    assert "Fixes #" not in fake_github.pulls[2].body
    assert fake_github.pulls[3].body.rstrip().endswith("Fixes #1")
    fake_github.merge(2)
    fake_github.close(3)
    assert sorted(r.status for r in await service.track()) == ["closed", "merged"]
    assert metric("streamfix_fix_success_ratio") == 0.5


async def test_replayed_ten_times_gives_one_pr(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_claude.responder = lambda body: tool_reply(**analysis())
    settings = fix_settings(tmp_path, sample_repo.remote, anthropic_base_url=fake_claude.base_url)
    request = make_request(genuine_traceback(sample_repo.work))
    rec = Recorder()
    service = build_service(settings, fake_github.base_url, rec)
    same_instance = [await service.handle(request) for _ in range(10)]
    fresh_instances = [
        await build_service(settings, fake_github.base_url, Recorder()).handle(request) for _ in range(10)
    ]
    results = same_instance + fresh_instances
    assert {r.status for r in results} == {"pr_open"}
    assert {r.pr_number for r in results} == {1}
    assert {r.commit_sha for r in results} == {same_instance[0].commit_sha}
    assert len(fake_github.pulls) == 1
    assert len(remote_branches(sample_repo.remote)) == 2
    assert git(sample_repo.remote, "rev-list", "--count", f"main..{results[0].branch}") == "1"
    assert len(fake_claude.requests) == 11  # replays on a live worker are answered from its store


class SimulatedCrash(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the service catches it."""


class CrashingPulls:
    def __init__(self, real: Any) -> None:
        self.real = real

    def find_issues(self, signature: Any, *, labels: Any = ()) -> IssueLinks:
        return IssueLinks()

    def open_pr(self, **kwargs: Any) -> Any:
        raise SimulatedCrash

    def pr_state(self, number: int) -> Any:
        return self.real.pr_state(number)


async def test_crash_between_push_and_pr_then_fresh_instance(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_claude.responder = lambda body: tool_reply(**analysis())
    settings = fix_settings(tmp_path, sample_repo.remote, anthropic_base_url=fake_claude.base_url)
    request = make_request(genuine_traceback(sample_repo.work))
    first = build_service(settings, fake_github.base_url, Recorder())
    first = build_service(settings, fake_github.base_url, Recorder(), pulls=CrashingPulls(first._pulls))
    with pytest.raises(SimulatedCrash):
        await first.handle(request)
    pushed = [b for b in remote_branches(sample_repo.remote) if b != "main"]
    assert len(pushed) == 1
    assert fake_github.pulls == {}
    rec = Recorder()
    results = [await build_service(settings, fake_github.base_url, rec).handle(request) for _ in range(3)]
    assert [r.status for r in results] == ["pr_open"] * 3
    assert len(fake_github.pulls) == 1
    assert fake_github.pulls[1].head == pushed[0]
    assert git(sample_repo.remote, "rev-list", "--count", f"main..{pushed[0]}") == "1"


class BrokenPulls(CrashingPulls):
    def open_pr(self, **kwargs: Any) -> Any:
        raise RuntimeError("adapter bug")


async def test_unexpected_adapter_error_becomes_a_failed_state(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_claude.script.append(tool_reply(**analysis()))
    settings = fix_settings(tmp_path, sample_repo.remote, anthropic_base_url=fake_claude.base_url)
    rec = Recorder()
    service = build_service(settings, fake_github.base_url, rec, pulls=BrokenPulls(None))
    result = await service.handle(make_request(genuine_traceback(sample_repo.work)))
    assert (result.status, result.error) == ("pr_failed", "internal error: RuntimeError")
    assert rec.statuses[-2:] == ["branch_pushed", "pr_failed"]


async def test_new_attempt_while_the_pr_is_open_joins_it(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_claude.script.append(tool_reply(**analysis()))
    settings = fix_settings(tmp_path, sample_repo.remote, anthropic_base_url=fake_claude.base_url)
    rec = Recorder()
    service = build_service(settings, fake_github.base_url, rec)
    tb = genuine_traceback(sample_repo.work)
    first = await service.handle(make_request(tb))
    second = await service.handle(make_request(tb, attempt=2, request_id=f"{first.fingerprint}#2"))
    assert (second.status, second.pr_number, second.request_id) == ("pr_open", 1, f"{first.fingerprint}#2")
    assert rec.results[-1] == second
    assert len(fake_claude.requests) == 1
    fake_github.merge(1)
    assert [(r.status, r.request_id) for r in await service.track()] == [("merged", f"{first.fingerprint}#2")]


async def test_concurrent_duplicates_give_one_pr(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    import asyncio

    fake_claude.responder = lambda body: tool_reply(**analysis())
    settings = fix_settings(
        tmp_path, sample_repo.remote, anthropic_base_url=fake_claude.base_url, fix_concurrency=5
    )
    request = make_request(genuine_traceback(sample_repo.work))
    services = [build_service(settings, fake_github.base_url, Recorder()) for _ in range(2)]
    results = await asyncio.gather(*(services[i % 2].handle(request) for i in range(6)))
    assert {r.status for r in results} == {"pr_open"}
    assert {r.pr_number for r in results} == {1}
    assert len(fake_github.pulls) == 1
    assert git(sample_repo.remote, "rev-list", "--count", f"main..{results[0].branch}") == "1"


async def test_model_and_strategy_arms_reach_claude_and_the_record(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    """With two models and two strategies configured, each pattern is analysed by the model and with
    the instruction of its arms (stable hashes of the fingerprint), and the fix record says which."""
    from streamfix.core.effectiveness import arm_for
    from streamfix.core.strategies import STRATEGIES, strategy_for

    fake_claude.script.extend(tool_reply(**analysis()) for _ in range(4))
    models, strategies = ["claude-x", "claude-y"], ["default", "minimal"]
    settings = fix_settings(tmp_path, sample_repo.remote, anthropic_base_url=fake_claude.base_url,
                            fix_models=",".join(models), fix_prompt_strategies=",".join(strategies))
    rec = Recorder()
    service = build_service(settings, fake_github.base_url, rec)
    tb = genuine_traceback(sample_repo.work)
    fps = ["fp1:arm-a", "fp1:arm-b", "fp1:arm-c", "fp1:arm-d"]
    finals = [await service.handle(make_request(tb, fingerprint=fp, request_id=f"{fp}#1", create_pr=False))
              for fp in fps]
    for fp, final, body in zip(fps, finals, fake_claude.requests, strict=True):
        strategy = strategy_for(fp, strategies)
        assert (final.model, final.strategy) == (arm_for(fp, models), strategy)
        assert body["model"] == final.model
        prompt = body["messages"][0]["content"]
        assert (STRATEGIES["minimal"] in str(prompt)) == (strategy == "minimal")
