"""Push safety: with a fork configured, the fix branch goes to the fork only and the PR comes from it."""

from __future__ import annotations

from pathlib import Path

from streamfix.fixing.github import GitHubPulls
from streamfix.fixing.gitops import GitOps
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
)

sample_repo = fixtures.sample_repo
fake_claude = fixtures.fake_claude
fake_github = fixtures.fake_github


def branches(remote: Path) -> list[str]:
    return git(remote, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


async def test_fix_goes_to_the_fork_and_the_pr_comes_from_it(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fork = tmp_path / "fork.git"
    git(tmp_path, "clone", "-q", "--bare", str(sample_repo.remote), str(fork))
    fake_github.forks["streamfix-bot"] = fork
    fake_claude.script.append(tool_reply(**analysis()))
    settings = fix_settings(tmp_path, sample_repo.remote, anthropic_base_url=fake_claude.base_url,
                            fix_fork_url=str(fork), fix_fork_owner="streamfix-bot")
    token = "ghp_fake"
    service = build_service(
        settings, fake_github.base_url, Recorder(),
        git=GitOps(settings.fix_clone_dir, str(sample_repo.remote), "main", token=token, push_url=str(fork)),
        pulls=GitHubPulls(fake_github.base_url, token, "acme/shop", head_owner="streamfix-bot",
                          seconds_between_requests=0, seconds_between_writes=0),
    )
    result = await service.handle(make_request(genuine_traceback(sample_repo.work)))
    assert result.status == "pr_open", result.error
    assert result.branch is not None
    assert branches(sample_repo.remote) == ["main"]  # nothing pushed to the base repository
    assert result.branch in branches(fork)
    pull = fake_github.pulls[1]
    assert (pull.head_owner, pull.head) == ("streamfix-bot", result.branch)
    # a replay finds the open PR through the fork's head instead of opening another
    again = await service.handle(make_request(genuine_traceback(sample_repo.work), request_id="fp1:5f2c0e9a4b7d1c3e#2"))
    assert again.status == "pr_open"
    assert list(fake_github.pulls) == [1]
