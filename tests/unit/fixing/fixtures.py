"""Pytest fixtures of the fixer tests: the fake Anthropic and GitHub servers and the sample repo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.github_server import FakeGitHub
from tests.unit.fixing.helpers import SampleRepo, make_sample_repo


@pytest.fixture
def sample_repo(tmp_path: Path) -> SampleRepo:
    return make_sample_repo(tmp_path)


@pytest.fixture
def fake_claude() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_github(sample_repo: SampleRepo) -> Iterator[FakeGitHub]:
    server = FakeGitHub(remote=sample_repo.remote).start()
    try:
        yield server
    finally:
        server.stop()
