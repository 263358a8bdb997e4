"""One replayed traceback's journey through a real broker and a real ``streamfix worker`` process, from
raw batch to pull request, under one trace id: every log line of the worker that concerns the journey
carries it, and so do the fix results, the commit and the pull request body."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from streamfix.core.trace import is_trace_id, trace_id_for
from streamfix.kafka import topics
from streamfix.kafka.clients import ensure_topics
from streamfix.kafka.wire import FixResult
from streamfix.runtime.settings import Settings
from streamfix.tools.replay import replay
from tests.fakes.anthropic_server import FakeAnthropic, tool_reply
from tests.fakes.github_server import FakeGitHub
from tests.integration.helpers import running_worker
from tests.unit.fixing import fixtures
from tests.unit.fixing.helpers import SampleRepo, analysis, genuine_traceback, git

pytestmark = pytest.mark.kafka

sample_repo = fixtures.sample_repo
fake_claude = fixtures.fake_claude
fake_github = fixtures.fake_github


async def fix_results_until_pr(settings: Settings) -> list[tuple[FixResult, dict[str, bytes]]]:
    consumer = AIOKafkaConsumer(topics.FIX_RESULTS.name(settings), auto_offset_reset="earliest",
                                bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    seen: list[tuple[FixResult, dict[str, bytes]]] = []
    try:
        while not seen or seen[-1][0].status != "pr_open":
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                seen.extend((FixResult.loads(m.value), dict(m.headers)) for m in messages)
        return seen
    finally:
        await consumer.stop()


def json_lines(path: Path) -> list[dict[str, Any]]:
    out = []
    for text in path.read_text(errors="replace").splitlines():
        try:  # Faust's terminal spinner may leave control characters before a line
            value = json.loads(text[text.find("{"):])
        except ValueError:
            continue
        if isinstance(value, dict) and "message" in value:
            out.append(value)
    return out


def mentions(line: dict[str, Any], needles: set[str]) -> bool:
    fields = (v for k, v in line.items() if k != "trace_id")
    return any(isinstance(v, str) and any(n in v for n in needles) for v in fields)


def test_one_trace_id_from_raw_batch_to_pull_request(
    kafka_settings: Settings, sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub,
    tmp_path: Path,
) -> None:
    fake_claude.script.append(tool_reply(**analysis()))
    asyncio.run(ensure_topics(kafka_settings))
    log = tmp_path / "app.log"  # the replayed file: the traceback, then quiet lines that close it
    log.write_text(genuine_traceback(sample_repo.work) + "\nserving requests\nserving requests\n")
    env = {
        "ANTHROPIC_API_KEY": fake_claude.api_key,
        "ANTHROPIC_BASE_URL": fake_claude.base_url,
        "GITHUB_TOKEN": fake_github.token,
        "STREAMFIX_GITHUB_API_URL": fake_github.base_url,
        "STREAMFIX_GITHUB_REPO": fake_github.full_name,
        "STREAMFIX_REPO_URL": str(sample_repo.remote),
        "STREAMFIX_FIX_CLONE_DIR": str(tmp_path / "clone"),
        "STREAMFIX_ANTHROPIC_MAX_RETRIES": "0",
        "STREAMFIX_FIX_THRESHOLD_COUNT": "1",
        "STREAMFIX_FIXABLE_CATEGORIES": "internal_error",  # the replayed ZeroDivisionError is a code bug
        "AUTO_FIX_ENABLED": "true",
        "STREAMFIX_LOG_FORMAT": "json",
    }
    worker_log = tmp_path / "worker.log"
    with running_worker(kafka_settings, worker_log, **env) as proc:
        done = asyncio.run(replay(kafka_settings, log, service="shop-worker", auto_fix=True))
        assert done.lines == len(log.read_text().splitlines())
        read = asyncio.run(asyncio.wait_for(fix_results_until_pr(kafka_settings), timeout=180))
    assert proc.returncode == 0, worker_log.read_text()[-3000:]

    results = [result for result, _ in read]
    opened = results[-1]
    trace_id = opened.trace_id
    assert trace_id is not None and is_trace_id(trace_id)
    assert {r.trace_id for r in results} == {trace_id}
    assert {headers["traceparent"].decode().split("-")[1] for _, headers in read} == {trace_id}
    # the trace is the one of the replayed batch that carried the traceback
    lines = json_lines(worker_log)
    [applied] = [line for line in lines if line["message"] == "raw batch applied" and line.get("events")]
    assert trace_id_for(applied["batch_id"]) == trace_id
    # every line about this journey carries it: the batch, the pattern, the request, the fix
    needles = {applied["batch_id"], opened.fingerprint, opened.request_id, opened.fix_id}
    journey = [line for line in lines if mentions(line, needles)]
    assert {line["trace_id"] for line in journey} == {trace_id}, journey
    messages = [line["message"] for line in journey]
    assert "fix requested" in messages
    assert messages.count("fix state") == len(results)
    # and the commit and the pull request name it
    body = git(sample_repo.remote, "log", "-1", "--format=%B", str(opened.branch))
    assert body.rstrip().endswith(f"Trace-Id: {trace_id}")
    assert f"| Trace id | `{trace_id}` |" in fake_github.pulls[1].body
