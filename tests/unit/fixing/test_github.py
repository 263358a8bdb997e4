from __future__ import annotations

from pathlib import Path

import pytest

from streamfix.core.issuelink import IssueLinks
from streamfix.errors import FixError
from streamfix.fixing.github import GitHubPulls, pr_body
from tests.fakes.github_server import FakeGitHub
from tests.unit.fixing.helpers import SampleRepo, git, make_request


def push_branch(sample: SampleRepo, branch: str) -> None:
    git(sample.work, "push", "-q", "origin", f"main:refs/heads/{branch}")


def pulls(fake: FakeGitHub) -> GitHubPulls:
    return GitHubPulls(
        fake.base_url, fake.token, fake.full_name, seconds_between_requests=0, seconds_between_writes=0
    )


def test_open_then_reuse(sample_repo: SampleRepo, fake_github: FakeGitHub) -> None:
    push_branch(sample_repo, "auto-fix/x/1")
    gh = pulls(fake_github)
    kwargs = {
        "branch": "auto-fix/x/1",
        "base": "main",
        "title": "t",
        "body": "b",
        "labels": ["auto-fix", "internal_error", "severity:high"],
        "draft": True,
    }
    first = gh.open_pr(**kwargs)  # type: ignore[arg-type]
    second = gh.open_pr(**kwargs)  # type: ignore[arg-type]
    assert (first.number, first.reused, second.number, second.reused) == (1, False, 1, True)
    assert first.url.startswith(fake_github.base_url)
    pull = fake_github.pulls[1]
    assert pull.draft is True
    assert pull.labels == ["auto-fix", "internal_error", "severity:high"]
    assert len(fake_github.pulls) == 1


def test_422_race_reuses_the_existing_pull(
    sample_repo: SampleRepo, fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    push_branch(sample_repo, "auto-fix/x/2")
    gh = pulls(fake_github)
    gh.open_pr(branch="auto-fix/x/2", base="main", title="t", body="b", labels=[], draft=True)
    real = gh._find_open
    seen: list[str] = []

    def racing(branch: str, base: str) -> object:
        seen.append(branch)
        return None if len(seen) == 1 else real(branch, base)  # the first lookup misses the PR

    monkeypatch.setattr(gh, "_find_open", racing)
    ref = gh.open_pr(branch="auto-fix/x/2", base="main", title="t", body="b", labels=[], draft=True)
    assert ref.reused is True
    assert len([c for c in fake_github.calls if c[0] == "POST" and c[1].endswith("/pulls")]) == 2
    assert len(fake_github.pulls) == 1


def test_pull_for_a_branch_that_was_never_pushed_fails(fake_github: FakeGitHub) -> None:
    with pytest.raises(FixError, match="HTTP 422"):
        pulls(fake_github).open_pr(branch="nope", base="main", title="t", body="b", labels=[], draft=True)


def test_states(sample_repo: SampleRepo, fake_github: FakeGitHub) -> None:
    gh = pulls(fake_github)
    for n in (1, 2, 3):
        push_branch(sample_repo, f"b{n}")
        gh.open_pr(branch=f"b{n}", base="main", title="t", body="b", labels=[], draft=False)
    fake_github.merge(1)
    fake_github.close(2)
    assert [gh.pr_state(n) for n in (1, 2, 3)] == ["merged", "closed", "open"]


def test_bad_token(fake_github: FakeGitHub) -> None:
    with pytest.raises(FixError, match="HTTP 401"):
        GitHubPulls(
            fake_github.base_url, "wrong", fake_github.full_name, seconds_between_requests=0
        ).pr_state(1)


def test_body_is_redacted_and_links_the_issue(tmp_path: Path) -> None:
    secret = "AKIA" + "IOSFODNN7EXAMPLE"
    request = make_request('  File "/app/shop/pricing.py", line 14, in f\nKeyError: ' + secret)
    body = pr_body(request, root_cause="r", explanation="e", confidence=0.9, changed_lines=2,
                   issues=IssueLinks(exact=(7,)))
    assert secret not in body
    assert body.rstrip().endswith("Fixes #7")
    assert "| Occurrences | 42 |" in body
    assert "| First seen | 2025-11-28 03:20:00 UTC |" in body
