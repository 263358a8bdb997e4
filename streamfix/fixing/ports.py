"""The ports of :class:`~streamfix.fixing.service.FixService`: what it needs from its adapters.

The real adapters are :class:`~streamfix.fixing.claude.ClaudeAnalyzer`,
:class:`~streamfix.fixing.gitops.GitOps` and :class:`~streamfix.fixing.github.GitHubPulls`; tests may
pass anything with the same shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Protocol

from streamfix.fixing.claude import Analysis
from streamfix.fixing.github import PullRef, PullState
from streamfix.wire import FixRequest, FixResult

Publish = Callable[[FixResult], Awaitable[None]]
Park = Callable[[FixRequest, float], Awaitable[None]]


class Analyzer(Protocol):
    async def analyze(self, prompt: str) -> Analysis: ...


class GitPort(Protocol):
    root: Path
    default_branch: str

    def sync(self) -> None: ...
    def files(self) -> list[str]: ...
    def start_branch(self, branch: str) -> None: ...
    def commit(self, paths: Sequence[str], message: str, *, when: float) -> str: ...
    def push(self, branch: str, sha: str) -> bool: ...
    def restore(self) -> None: ...


class PullsPort(Protocol):
    def open_pr(
        self, *, branch: str, base: str, title: str, body: str, labels: Sequence[str], draft: bool
    ) -> PullRef: ...
    def pr_state(self, number: int) -> PullState: ...
    def find_issue(self, fingerprint: str) -> int | None: ...
