"""Revert pull requests for merged fixes whose errors rise (off by default: ``fix_revert_enabled``).

:class:`Reverter` looks at the merged fixes the fixer knows; for one that is due
(:func:`streamfix.core.revert.revert_due`) it reverts the commit the pull request left on the base
branch (``git revert`` of the squash commit, or of the merge commit against its first parent) on
branch ``auto-revert/<fix id>``, pushes it and opens a pull request with the evidence, labelled
``revert`` and ``auto-fix``. It never merges. The fix's next state carries the revert pull request,
so each merged fix gets at most one; a revert pull request that is already open for the branch is
reused (a restart between opening it and recording it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import git

from streamfix.core.records import Pattern
from streamfix.core.revert import RevertDue, RevertPolicy, changed_paths, revert_due
from streamfix.errors import FixError
from streamfix.fixing.github import GitHubPulls, PullRef
from streamfix.fixing.gitops import GitOps
from streamfix.fixing.ports import Publish
from streamfix.fixing.store import MemoryStore
from streamfix.kafka.wire import FixResult
from streamfix.runtime import metrics
from streamfix.runtime.redaction import scrub
from streamfix.runtime.settings import Settings

log = logging.getLogger(__name__)

REVERT_PREFIX = "auto-revert"
LABELS = ("revert", "auto-fix")


def revert_policy(settings: Settings) -> RevertPolicy:
    return RevertPolicy(enabled=settings.fix_revert_enabled, window_seconds=settings.fix_revert_window_seconds,
                        threshold=settings.fix_revert_threshold, grace_seconds=settings.fix_regression_grace_seconds,
                        width=settings.window_seconds)


def revert_branch(fix: FixResult) -> str:
    return f"{REVERT_PREFIX}/{fix.fix_id}"


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def revert_body(fix: FixResult, due: RevertDue, sha: str, policy: RevertPolicy, merged_at: float) -> str:
    """The evidence: which fix, when it merged, what rose since, and what this pull request undoes."""
    what = ("its own error pattern came back" if due.reason == "regressed"
            else "errors in the files it changed rose")
    lines = [
        f"Reverts #{fix.pr_number} (streamfix fix `{fix.fix_id}` for error pattern `{fix.fingerprint}`): {what}.",
        "",
        "| | |",
        "|---|---|",
        f"| Merged | {_when(merged_at)} |",
        f"| Reverted commit | `{sha}` |",
        f"| Window | {policy.window_seconds:.0f} s after the merge and a {policy.grace_seconds:.0f} s grace period |",
        f"| Occurrences in the window | {due.occurrences} (threshold {policy.threshold}) |",
        f"| Patterns counted | {', '.join(f'`{fp}`' for fp in due.patterns)} |",
        f"| Files the fix changed | {', '.join(f'`{p}`' for p in changed_paths(fix.diff)) or 'unknown'} |",
        "",
        "Proposed automatically; review before merging. streamfix never merges pull requests.",
    ]
    return scrub("\n".join(lines), where="pr_body")


@dataclass(frozen=True, slots=True)
class RevertCommit:
    branch: str
    sha: str


class Reverter:
    def __init__(self, settings: Settings, *, git_ops: GitOps, pulls: GitHubPulls, store: MemoryStore,
                 publish: Publish, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.policy = revert_policy(settings)
        self._git = git_ops
        self._pulls = pulls
        self._store = store
        self._publish = publish
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, *, store: MemoryStore, publish: Publish) -> Reverter | None:
        """A reverter when reverts are enabled and a repository and GitHub are configured, else None."""
        token = settings.github_token.get_secret_value() if settings.github_token else None
        if not (settings.fix_revert_enabled and settings.repo_url and token and settings.github_repo):
            return None
        git_ops = GitOps(settings.fix_clone_dir, settings.repo_url, settings.repo_default_branch, token=token,
                         author=settings.fix_git_author)
        pulls = GitHubPulls(settings.github_api_url, token, settings.github_repo)
        return cls(settings, git_ops=git_ops, pulls=pulls, store=store, publish=publish)

    async def check(self, patterns: Iterable[Pattern]) -> list[FixResult]:
        """Open a revert pull request for every merged fix that is due; returns the fixes that got one."""
        if not self.policy.enabled:
            return []
        known = list(patterns)
        now = self._clock()
        opened: list[FixResult] = []
        for fix in list(self._store.values()):
            if fix.status != "merged" or fix.revert_pr_number is not None or fix.pr_number is None:
                continue
            merged_at = fix.merged_at if fix.merged_at is not None else fix.updated_at
            due = revert_due(fix.fingerprint, merged_at, fix.diff, known, now, self.policy, fix.fix_id)
            if due is None:
                continue
            try:
                ref = await asyncio.to_thread(self._revert, fix, due, merged_at)
            except FixError as exc:
                log.warning("revert pull request failed", extra={"fix_id": fix.fix_id, "error": str(exc)})
                continue
            new = fix.model_copy(update={"revert_pr_number": ref.number, "revert_pr_url": ref.url,
                                         "revert_reason": due.reason, "updated_at": self._clock()})
            self._store.put(new)
            metrics.REVERT_PRS.labels(reason=due.reason).inc()
            log.info("revert pull request opened", extra={"fix_id": fix.fix_id, "pr": ref.number,
                                                           "reason": due.reason})
            await self._publish(new)
            opened.append(new)
        return opened

    def _revert(self, fix: FixResult, due: RevertDue, merged_at: float) -> PullRef:
        assert fix.pr_number is not None
        sha = self._pulls.merge_commit_sha(fix.pr_number)
        if sha is None:
            raise FixError(f"pull request #{fix.pr_number} has no merge commit")
        branch = revert_branch(fix)
        with self._git.locked():
            commit = self._commit(sha, branch, fix)
        return self._pulls.open_pr(
            branch=commit.branch, base=self._git.default_branch,
            title=scrub(f"Revert fix {fix.fix_id}: {fix.error_type} ({fix.category})"[:120], where="pr_title"),
            body=revert_body(fix, due, sha, self.policy, merged_at), labels=list(LABELS),
            draft=self.settings.fix_draft_prs)

    def _commit(self, sha: str, branch: str, fix: FixResult) -> RevertCommit:
        ops = self._git
        try:
            ops.sync()
            ops.start_branch(branch)
            repo = git.Repo(ops.root)
            try:
                merge = len(repo.commit(sha).parents) > 1
                repo.git.revert("--no-commit", *(("-m", "1") if merge else ()), sha)
                paths = [p for p in repo.git.diff("--cached", "--name-only").splitlines() if p]
            except (git.GitCommandError, ValueError) as exc:
                raise FixError(f"git revert of {sha[:12]} failed: {str(exc)[-300:]}") from None
            finally:
                repo.close()
            if not paths:
                raise FixError(f"reverting {sha[:12]} changes nothing on {ops.default_branch}")
            message = (f"Revert fix {fix.fix_id} ({sha[:12]})\n\nThis reverts commit {sha}: errors rose after "
                       f"the fix for pattern {fix.fingerprint} merged.\n")
            new_sha = ops.commit(paths, message, when=self._clock())
            ops.push(branch, new_sha)
            return RevertCommit(branch, new_sha)
        finally:
            ops.restore()
