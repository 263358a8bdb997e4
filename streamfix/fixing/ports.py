"""The ports of :class:`~streamfix.fixing.service.FixService`: what it needs from its adapters.

The real adapters are :class:`~streamfix.fixing.claude.ClaudeAnalyzer`,
:class:`~streamfix.fixing.gitops.GitOps` and :class:`~streamfix.fixing.github.GitHubPulls`; tests may
pass anything with the same shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from streamfix.core.issuelink import ErrorSignature, IssueLinks
from streamfix.fixing.claude import Analysis
from streamfix.fixing.github import PullRef, PullState
from streamfix.kafka.wire import FixRequest, FixResult

NOT_BEFORE_HEADER = "streamfix-not-before"
"""Kafka header of a parked fix request: the Unix time before which it must not be handled."""

Publish = Callable[[FixResult], Awaitable[None]]
Park = Callable[[FixRequest, float], Awaitable[None]]


class Analyzer(Protocol):
    async def analyze(self, prompt: str) -> Analysis: ...


class ModelAnalyzer(Protocol):
    """An analyzer that can be told which model to use (``fix_models``: A/B over models)."""

    async def analyze(self, prompt: str, *, model: str | None = None) -> Analysis: ...


class GitPort(Protocol):
    root: Path
    default_branch: str

    def locked(self) -> AbstractContextManager[None]: ...
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
    def find_issues(self, signature: ErrorSignature, *, labels: Sequence[str] = ()) -> IssueLinks: ...


def not_before_of(headers: Any) -> float | None:
    """The not-before time of a parked request, from Kafka headers (a mapping or (key, value) pairs)."""
    if not headers:
        return None
    items = headers.items() if isinstance(headers, Mapping) else headers
    for key, value in items:
        if key == NOT_BEFORE_HEADER:
            try:
                return float(value.decode() if isinstance(value, bytes) else value)
            except ValueError:
                return None
    return None
