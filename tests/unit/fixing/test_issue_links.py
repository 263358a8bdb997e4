"""Issue linking through the real PyGithub against the fake GitHub server: the adapter, and the fix
service end to end (exact match → ``Fixes #N``, type and location → ``Related``, near misses → nothing)."""

from __future__ import annotations

from pathlib import Path

from streamfix.core.issuelink import ErrorSignature, IssueLinks
from streamfix.fixing.github import GitHubPulls, pr_body
from streamfix.fixing.naming import short_id
from tests.fakes.anthropic_server import FakeAnthropic, tool_reply
from tests.fakes.github_server import FakeGitHub
from tests.unit.fixing.helpers import (
    FINGERPRINT,
    Recorder,
    SampleRepo,
    analysis,
    build_service,
    fix_settings,
    genuine_traceback,
    git,
    make_request,
)

SIG = ErrorSignature(FINGERPRINT, short_id(FINGERPRINT), "ZeroDivisionError", "/app/shop/pricing.py", 14,
                     "average_order_value")


def pulls(fake: FakeGitHub) -> GitHubPulls:
    return GitHubPulls(
        fake.base_url, fake.token, fake.full_name, seconds_between_requests=0, seconds_between_writes=0
    )


def searches(fake: FakeGitHub) -> list[str]:
    return [c[1] for c in fake.calls if c[1] == "/search/issues"]


def test_adapter_finds_exact_related_and_labelled(fake_github: FakeGitHub) -> None:
    fake_github.add_issue("Other", "nothing here")
    exact = fake_github.add_issue("Crash in reports", f"pattern {FINGERPRINT} keeps firing")
    related = fake_github.add_issue("ZeroDivisionError in pricing.py", "new customers")
    fake_github.add_issue("ZeroDivisionError everywhere", "type only")
    fake_github.add_issue("pricing.py", "file only")
    fake_github.add_issue(f"closed {FINGERPRINT}", "", state="closed")
    labelled = fake_github.add_issue("Checkout broken", "", labels=["Prod-Errors", "p1"])
    fake_github.add_issue("Checkout slow", "", labels=["p1"])
    links = pulls(fake_github).find_issues(SIG, labels=["prod-errors"])
    assert links == IssueLinks(exact=(exact,), related=(related, labelled))
    assert len(searches(fake_github)) == 4  # fingerprint, pattern id, type+file, type+function


def test_pull_requests_in_the_issue_list_are_not_linked(sample_repo: SampleRepo, fake_github: FakeGitHub) -> None:
    gh = pulls(fake_github)
    git(sample_repo.work, "push", "-q", "origin", "main:refs/heads/b1")
    ref = gh.open_pr(branch="b1", base="main", title=f"fix {FINGERPRINT}", body="", labels=["prod-errors"],
                     draft=False)
    assert gh.find_issues(SIG, labels=["prod-errors"]) == IssueLinks()
    assert ref.number == 1


def test_rate_limit_links_nothing_without_waiting(fake_github: FakeGitHub) -> None:
    fake_github.add_issue("Crash", f"pattern {FINGERPRINT}")
    fake_github.search_rate_limited = True
    assert pulls(fake_github).find_issues(SIG) == IssueLinks()
    assert len(searches(fake_github)) == 1  # no retry: the reset is a minute away


def test_body_links() -> None:
    request = make_request('  File "/app/shop/pricing.py", line 14, in f\nKeyError: x')
    body = pr_body(request, root_cause="r", explanation="e", confidence=0.9, changed_lines=2,
                   issues=IssueLinks(exact=(7, 9), related=(3, 4)))
    assert body.rstrip().endswith("Fixes #7, Fixes #9\n\nRelated: #3, #4")
    plain = pr_body(request, root_cause="r", explanation="e", confidence=0.9, changed_lines=2)
    assert "Fixes #" not in plain and "Related:" not in plain


async def fix_with_issues(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub, tmp_path: Path
) -> str:
    fake_claude.script.append(tool_reply(**analysis()))
    settings = fix_settings(tmp_path, sample_repo.remote, anthropic_base_url=fake_claude.base_url)
    rec = Recorder()
    final = await build_service(settings, fake_github.base_url, rec).handle(
        make_request(genuine_traceback(sample_repo.work))
    )
    assert final.status == "pr_open", final.error
    assert final.pr_number is not None
    return fake_github.pulls[final.pr_number].body


async def test_fix_pr_fixes_the_exact_issue_and_lists_related(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    exact = fake_github.add_issue("Reports crash", f"streamfix pattern {short_id(FINGERPRINT)}")
    related = fake_github.add_issue("ZeroDivisionError in average_order_value", "for new customers")
    type_only = fake_github.add_issue("ZeroDivisionError", "somewhere else")
    closed = fake_github.add_issue("Old crash", f"pattern {FINGERPRINT}", state="closed")
    body = await fix_with_issues(sample_repo, fake_claude, fake_github, tmp_path)
    assert body.rstrip().endswith(f"Fixes #{exact}\n\nRelated: #{related}")
    links = [line for line in body.splitlines() if line.startswith(("Fixes", "Related"))]
    assert links == [f"Fixes #{exact}", f"Related: #{related}"]  # not #{type_only} nor #{closed}
    assert {type_only, closed}.isdisjoint({exact, related})


async def test_fix_pr_without_matching_issues_has_no_links(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_github.add_issue("ZeroDivisionError", "type only")
    fake_github.add_issue("Slow pricing.py", "file only")
    fake_github.add_issue(f"Closed {FINGERPRINT}", "", state="closed")
    body = await fix_with_issues(sample_repo, fake_claude, fake_github, tmp_path)
    assert "Fixes #" not in body and "Related:" not in body


async def test_rate_limited_search_still_opens_the_pr(
    sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_github.add_issue("Crash", f"pattern {FINGERPRINT}")
    fake_github.search_rate_limited = True
    body = await fix_with_issues(sample_repo, fake_claude, fake_github, tmp_path)
    assert "Fixes #" not in body and "Related:" not in body
    assert searches(fake_github)


def test_search_422_links_nothing(fake_github: FakeGitHub) -> None:
    fake_github.add_issue("Crash", f"pattern {FINGERPRINT}")
    gone = GitHubPulls(fake_github.base_url, fake_github.token, "acme/gone", seconds_between_requests=0)
    assert gone.find_issues(SIG, labels=["prod-errors"]) == IssueLinks()
    assert len(searches(fake_github)) == 1
