"""Through a real broker: a FixRequest on the fix-requests topic becomes a PR, then a merged fix.

A real ``streamfix worker`` process runs the fixer agent: the service talks to the fake Anthropic and
GitHub servers and pushes to a real bare remote, and every state lands on the fix-results topic,
which the test reads back from the broker. A parked request goes back through the broker with its
not-before header; a merged PR is noticed by the worker's PR tracker.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from streamfix.kafka import topics
from streamfix.kafka.clients import Publisher, ensure_topics
from streamfix.kafka.wire import FixRequest, FixResult
from streamfix.runtime.settings import Settings
from tests.fakes.anthropic_server import FakeAnthropic, tool_reply
from tests.fakes.github_server import FakeGitHub
from tests.unit.fixing import fixtures
from tests.unit.fixing.helpers import SampleRepo, analysis, genuine_traceback, git, make_request

pytestmark = pytest.mark.kafka

# the shared fixtures of the fixer tests
sample_repo = fixtures.sample_repo
fake_claude = fixtures.fake_claude
fake_github = fixtures.fake_github


async def read_until(results: AIOKafkaConsumer, status: str, seen: list[FixResult]) -> FixResult:
    while True:
        batches = await results.getmany(timeout_ms=500)
        for messages in batches.values():
            for message in messages:
                assert message.key == FixResult.loads(message.value).fingerprint.encode()
                seen.append(FixResult.loads(message.value))
                if seen[-1].status == status:
                    return seen[-1]


async def read_requests(settings: Settings, count: int) -> list[Any]:
    """The first ``count`` records of the fix-requests topic."""
    requests = AIOKafkaConsumer(
        topics.FIX_REQUESTS.name(settings),
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await requests.start()
    try:
        copies: list[Any] = []
        while len(copies) < count:
            for messages in (await requests.getmany(timeout_ms=500)).values():
                copies.extend(messages)
        return copies
    finally:
        await requests.stop()


WORKER_CASES = {
    "direct": ([], ["pending", "analyzing", "fix_generated", "branch_pushed", "pr_open"]),
    "parked": (
        [529],
        [
            "pending",
            "analyzing",
            "pending",
            "pending",
            "analyzing",
            "fix_generated",
            "branch_pushed",
            "pr_open",
        ],
    ),
}


@pytest.mark.parametrize("case", list(WORKER_CASES))
def test_worker_fixer_agent_opens_the_pr(
    case: str,
    kafka_settings: Settings,
    sample_repo: SampleRepo,
    fake_claude: FakeAnthropic,
    fake_github: FakeGitHub,
    tmp_path: Path,
) -> None:
    """The same flow through a real ``streamfix worker`` process and its Faust fixer agent; in the
    parked case Claude is overloaded first and the agent re-publishes the request with its header."""
    from tests.fakes.anthropic_server import error_reply
    from tests.integration.helpers import running_worker

    failures, expected = WORKER_CASES[case]
    fake_claude.script.extend(error_reply(status) for status in failures)
    fake_claude.script.append(tool_reply(**analysis()))
    asyncio.run(ensure_topics(kafka_settings))
    request = make_request(genuine_traceback(sample_repo.work))
    env = {
        "ANTHROPIC_API_KEY": fake_claude.api_key,
        "ANTHROPIC_BASE_URL": fake_claude.base_url,
        "GITHUB_TOKEN": fake_github.token,
        "STREAMFIX_GITHUB_API_URL": fake_github.base_url,
        "STREAMFIX_GITHUB_REPO": fake_github.full_name,
        "STREAMFIX_REPO_URL": str(sample_repo.remote),
        "STREAMFIX_FIX_CLONE_DIR": str(tmp_path / "clone"),
        "STREAMFIX_FIX_TRACK_INTERVAL": "1",
        "STREAMFIX_ANTHROPIC_MAX_RETRIES": "0",
        "STREAMFIX_FIX_RETRY_ATTEMPTS": "1",
        "STREAMFIX_FIX_PARK_SECONDS": "0",
    }

    async def flow() -> tuple[list[FixResult], FixResult]:
        results = AIOKafkaConsumer(
            topics.FIX_RESULTS.name(kafka_settings),
            bootstrap_servers=kafka_settings.bootstrap_servers,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await results.start()
        try:
            async with Publisher(kafka_settings) as pub:
                await (await pub.send("fix_requests", request.fingerprint, request))
            seen: list[FixResult] = []
            opened = await asyncio.wait_for(read_until(results, "pr_open", seen), timeout=120)
            opened_states = list(seen)
            fake_github.merge(1)
            merged = await asyncio.wait_for(read_until(results, "merged", seen), timeout=60)
            assert merged.pr_number == opened.pr_number == 1
            assert git(sample_repo.remote, "rev-list", "--count", f"main..{opened.branch}") == "1"
            return opened_states, merged
        finally:
            await results.stop()

    log_path = tmp_path / "worker.log"
    with running_worker(kafka_settings, log_path, **env) as proc:
        seen, _ = asyncio.run(flow())
        copies = asyncio.run(read_requests(kafka_settings, 1 if case == "direct" else 2))
    assert proc.returncode == 0, log_path.read_text()[-3000:]
    assert [r.status for r in seen] == expected
    assert len(fake_github.pulls) == 1
    assert fake_github.pulls[1].labels == ["auto-fix", "internal_error", "severity:high"]
    assert "## Root cause" in fake_github.pulls[1].body
    # a parked request went back through the fix-requests topic, with its not-before header
    assert [dict(m.headers).get("streamfix-not-before") is not None for m in copies] == (
        [False] if case == "direct" else [False, True])
    assert all(FixRequest.loads(m.value) == request for m in copies)
    worker_log = log_path.read_text()
    assert fake_claude.api_key not in worker_log
    assert fake_github.token not in worker_log
