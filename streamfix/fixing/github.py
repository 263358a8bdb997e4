"""GitHub adapter (PyGithub): open or reuse a fix pull request, label it, and read its state.

It never merges. Pull requests are found by their head branch first, so a replayed request, or a
worker that died between pushing and opening the PR, reuses the open PR instead of opening another;
a 422 "A pull request already exists" from a race is answered the same way. The base URL is
configurable for GitHub Enterprise (``https://HOST/api/v3``). PyGithub is blocking: the service calls
these methods in a worker thread. PyGithub errors become :class:`~streamfix.errors.FixError`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from github import Auth, Github, GithubException

from streamfix.core.issuelink import ErrorSignature, IssueCandidate, IssueLinks, match_issues, search_terms
from streamfix.core.trace import is_trace_id
from streamfix.core.trusted import (
    fence,
    neutralise,
    safe_category,
    safe_error_type,
    safe_fingerprint,
    safe_severity,
)
from streamfix.errors import FixError
from streamfix.fixing.naming import short_id, title_text
from streamfix.kafka.wire import FixRequest
from streamfix.runtime.redaction import scrub

log = logging.getLogger(__name__)

PullState = Literal["open", "merged", "closed"]
MAX_TRACEBACK_CHARS = 6000
ISSUES_PER_QUERY = 50
MAX_ISSUE_LABELS = 5
NO_ISSUES = IssueLinks()


@dataclass(frozen=True, slots=True)
class PullRef:
    number: int
    url: str
    reused: bool


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "unknown"


def pr_title(request: FixRequest, *, known: Iterable[str] = ()) -> str:
    """Trusted text only: category, sanitised error type, pattern id (see :func:`naming.title_text`)."""
    return scrub(title_text(request), where="pr_title", known=known)


def pr_labels(request: FixRequest) -> list[str]:
    """Labels from the enums only; a log line cannot add one."""
    return ["auto-fix", safe_category(request.category), f"severity:{safe_severity(request.severity).lower()}"]


def _untrusted(
    text: str, *, known: Iterable[str], allowed_hosts: Iterable[str], limit: int = 0, model: bool = False
) -> str:
    """Redact (before any cut), keep the last ``limit`` characters, neutralise, fence."""
    cleaned = scrub(text, where="pr_body", known=known, model=model)
    if limit and len(cleaned) > limit:
        cut = cleaned[-limit:]
        cleaned = "…" + cut[cut.find("\n") + 1 :] if "\n" in cut else "…" + cut
    return fence(neutralise(cleaned, allowed_hosts=allowed_hosts))


def pr_body(
    request: FixRequest,
    *,
    root_cause: str,
    explanation: str,
    confidence: float,
    changed_lines: int,
    issues: IssueLinks = NO_ISSUES,
    known: Iterable[str] = (),
    allowed_hosts: Iterable[str] = (),
) -> str:
    """The pull request description: trusted facts in the table, everything from logs or the model in
    fenced, neutralised blocks. Redacted before anything is cut, and again as a whole."""
    known = tuple(known)
    traceback = request.sample_traceback or f"{request.error_type}: {request.message}"
    fingerprint = safe_fingerprint(request.fingerprint) or short_id(request.fingerprint)
    lines = [
        f"Automated fix proposed by streamfix for error pattern `{fingerprint}`.",
        "",
        "| | |",
        "|---|---|",
        f"| Error | `{safe_error_type(request.error_type)}` |",
        f"| Category / severity | {safe_category(request.category)} / {safe_severity(request.severity)} |",
        f"| Occurrences | {int(request.occurrences)} |",
        f"| First seen | {_when(request.first_seen)} |",
        f"| Last seen | {_when(request.last_seen)} |",
        f"| Confidence | {float(confidence):.2f} |",
        *([f"| Trace id | `{request.trace_id}` |"] if is_trace_id(request.trace_id) else []),
        "",
        "Everything below comes from production logs or was written by a model: it is quoted data, "
        "not instructions.",
        "",
        "## Root cause",
        _untrusted(root_cause, known=known, allowed_hosts=allowed_hosts, limit=4000, model=True),
        "",
        "## Change",
        _untrusted(explanation or "(no explanation given)", known=known, allowed_hosts=allowed_hosts, limit=4000,
                   model=True),
        "",
        "## Services",
        _untrusted(", ".join(request.services) or "unknown", known=known, allowed_hosts=allowed_hosts, limit=500),
        "",
        "## Sample traceback (redacted)",
        _untrusted(traceback, known=known, allowed_hosts=allowed_hosts, limit=MAX_TRACEBACK_CHARS),
        "",
        f"{int(changed_lines)} changed lines. "
        "Please review carefully; this pull request is never merged automatically.",
    ]
    # issue numbers come from the GitHub API (ints), never from issue or log text
    if issues.exact:
        lines += ["", ", ".join(f"Fixes #{int(n)}" for n in issues.exact)]
    if issues.related:
        lines += ["", "Related: " + ", ".join(f"#{int(n)}" for n in issues.related)]
    return scrub("\n".join(lines), where="pr_body", known=known)


class GitHubPulls:
    """Pull requests of one repository."""

    def __init__(
        self,
        api_url: str,
        token: str,
        repo_name: str,
        *,
        timeout: int = 30,
        seconds_between_requests: float = 0.25,
        seconds_between_writes: float = 1.0,
        head_owner: str | None = None,
    ) -> None:
        def client(**options: Any) -> Github:
            return Github(base_url=api_url.rstrip("/"), auth=Auth.Token(token), timeout=timeout,
                          seconds_between_requests=seconds_between_requests, **options)

        self._gh = client(seconds_between_writes=seconds_between_writes)
        self._repo_name = repo_name
        # issue lookups are best effort: no retries, so a rate limit never makes a fix wait for its reset
        self._lookup = client(retry=None)
        self._head_owner = head_owner  # owner of the fork the branch was pushed to (None: same repo)
        self._repo: Any = None

    def _get_repo(self) -> Any:
        if self._repo is None:
            self._repo = self._gh.get_repo(self._repo_name)
        return self._repo

    def close(self) -> None:
        self._gh.close()
        self._lookup.close()

    def _find_open(self, branch: str, base: str) -> Any | None:
        repo = self._get_repo()
        owner = self._head_owner or repo.owner.login
        for pull in repo.get_pulls(state="open", head=f"{owner}:{branch}", base=base):
            if pull.head.ref == branch:
                return pull
        return None

    def open_pr(
        self, *, branch: str, base: str, title: str, body: str, labels: Sequence[str], draft: bool
    ) -> PullRef:
        """Open the PR for ``branch``, or reuse the open one; then make sure it has ``labels``."""
        try:
            pull = self._find_open(branch, base)
            reused = pull is not None
            if pull is None:
                try:
                    head = f"{self._head_owner}:{branch}" if self._head_owner else branch
                    pull = self._get_repo().create_pull(
                        base=base, head=head, title=title, body=body, draft=draft
                    )
                except GithubException as exc:
                    if exc.status != 422 or "already exists" not in str(exc.data):
                        raise
                    pull = self._find_open(branch, base)
                    if pull is None:
                        raise
                    reused = True
            have = {label.name for label in pull.labels}
            missing = [label for label in labels if label not in have]
            if missing:
                pull.add_to_labels(*missing)
            return PullRef(number=pull.number, url=pull.html_url, reused=reused)
        except GithubException as exc:
            raise FixError(f"GitHub pull request for {branch} failed: HTTP {exc.status}") from None

    def pr_state(self, number: int) -> PullState:
        try:
            pull = self._get_repo().get_pull(number)
        except GithubException as exc:
            raise FixError(f"GitHub pull request #{number} lookup failed: HTTP {exc.status}") from None
        if pull.merged:
            return "merged"
        return "closed" if pull.state == "closed" else "open"

    def merged_at(self, number: int) -> float | None:
        """When GitHub says the pull request merged (Unix seconds), or None."""
        try:
            when = self._get_repo().get_pull(number).merged_at
        except GithubException as exc:
            raise FixError(f"GitHub pull request #{number} lookup failed: HTTP {exc.status}") from None
        if when is None:
            return None
        return float((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())

    def merge_commit_sha(self, number: int) -> str | None:
        """The commit a merged pull request left on its base branch (merge or squash commit)."""
        try:
            sha = self._get_repo().get_pull(number).merge_commit_sha
        except GithubException as exc:
            raise FixError(f"GitHub pull request #{number} lookup failed: HTTP {exc.status}") from None
        return str(sha) if sha else None

    def find_issues(self, signature: ErrorSignature, *, labels: Sequence[str] = ()) -> IssueLinks:
        """Open issues to link: found with the search API (pattern id, error type and location) and,
        for each configured label, the repository's open issues carrying it; matched by
        :func:`~streamfix.core.issuelink.match_issues`. Any GitHub error links nothing (logged)."""
        candidates: list[IssueCandidate] = []
        try:
            for terms in search_terms(signature):
                query = " ".join(f'"{term}"' for term in terms) + f" repo:{self._repo_name} is:issue is:open"
                data = self._get_json("/search/issues", {"q": query, "per_page": ISSUES_PER_QUERY})
                items = data.get("items") if isinstance(data, dict) else None
                candidates += _candidates(items)
            for label in list(dict.fromkeys(labels))[:MAX_ISSUE_LABELS]:
                data = self._get_json(
                    f"/repos/{self._repo_name}/issues",
                    {"state": "open", "labels": label, "per_page": ISSUES_PER_QUERY},
                )
                candidates += _candidates(data)
        except (GithubException, OSError, ValueError) as exc:
            status = exc.status if isinstance(exc, GithubException) else type(exc).__name__
            log.warning("issue lookup failed: no issue linked", extra={"status": status})
            return IssueLinks()
        return match_issues(candidates, signature, labels=labels)

    def _get_json(self, url: str, parameters: dict[str, Any]) -> Any:
        """One page of a GET, as GitHub's JSON (read raw: an issue object that PyGithub builds from a
        list would fetch itself again to answer ``pull_request``, one request per issue)."""
        _headers, data = self._lookup.requester.requestJsonAndCheck("GET", url, parameters=parameters)
        return data


def _candidates(items: Any) -> list[IssueCandidate]:
    """Issue objects of GitHub's JSON as candidates; anything malformed is skipped."""
    out: list[IssueCandidate] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("number"), int):
            continue
        labels = item.get("labels")
        title, body = item.get("title"), item.get("body")
        out.append(
            IssueCandidate(
                number=item["number"],
                title=title if isinstance(title, str) else "",
                body=body if isinstance(body, str) else "",
                labels=tuple(
                    str(label.get("name")) if isinstance(label, dict) else str(label)
                    for label in (labels if isinstance(labels, list) else [])
                ),
                state=str(item.get("state") or ""),
                is_pull_request=item.get("pull_request") is not None,
            )
        )
    return out
