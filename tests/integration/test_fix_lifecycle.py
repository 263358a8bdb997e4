"""Through a real broker: fixes made three ways merge, their patterns recur, regress and get attempt 2.

One ``streamfix worker`` runs the pipeline and the fixer against the fake Anthropic and GitHub servers
and a real bare remote. Three patterns get their first fix from the three triggers: the group agent
(a source with auto-fix), ``POST /error-monitor/fixes/generate-for-error``, and ``streamfix fix
--report`` run as its own process. The test merges the three pull requests on the fake GitHub; the
worker's PR tracker notices. Occurrences then come back (event time after the merge): each pattern
becomes ``regressed`` and its next fix is attempt 2, kept beside attempt 1 in the pattern's history.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from streamfix.kafka.clients import Publisher, ensure_topics
from streamfix.kafka.wire import ErrorEventRecord
from streamfix.runtime.settings import Settings
from tests.fakes.anthropic_server import FakeAnthropic, tool_reply
from tests.fakes.github_server import FakeGitHub
from tests.integration.helpers import REPO_ROOT, running_worker, wait_http_json
from tests.unit.fixing import fixtures
from tests.unit.fixing.helpers import SampleRepo, analysis, frames_of, genuine_traceback

pytestmark = pytest.mark.kafka

sample_repo = fixtures.sample_repo
fake_claude = fixtures.fake_claude
fake_github = fixtures.fake_github

FPS = {"auto": "fp1:1111aaaa2222bbbb", "api": "fp1:3333cccc4444dddd", "cli": "fp1:5555eeee6666ffff"}


def occurrence(fp: str, traceback: str, *, auto_fix: bool, at: float) -> ErrorEventRecord:
    frames = frames_of(traceback)
    inner = [f for f in frames if f.in_app][-1]
    return ErrorEventRecord(
        fingerprint=fp,
        error_type="ZeroDivisionError",
        message="division by zero",
        category="internal_error",
        severity="HIGH",
        fixable=True,
        file=inner.file,
        line=inner.line,
        function=inner.function,
        frames=frames,
        traceback=traceback,
        timestamp=at,
        detected_at=at,
        auto_fix=auto_fix,
        service="shop-worker",
    )


async def publish(settings: Settings, records: list[ErrorEventRecord]) -> None:
    async with Publisher(settings) as pub:
        for record in records:
            await pub.send_and_wait("errors", record.fingerprint, record)


def cli_fix(
    settings: Settings, events: Path, env: dict[str, str], log: Path
) -> subprocess.CompletedProcess[str]:
    """``streamfix fix FP --from-file EVENTS --create-pr --report`` in its own process."""
    fp = FPS["cli"]
    return subprocess.run(
        [sys.executable, "-m", "streamfix", "fix", fp, "--from-file", str(events), "--create-pr", "--report"],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            **env,
            "STREAMFIX_BROKER": settings.broker,
            "STREAMFIX_TOPIC_PREFIX": settings.topic_prefix,
            "STREAMFIX_TOPIC_PARTITIONS": str(settings.topic_partitions),
            "STREAMFIX_FIX_CLONE_DIR": str(log.parent / "cli-clone"),
        },
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_regression_opens_attempt_two_for_auto_api_and_cli_fixes(
    kafka_settings: Settings,
    sample_repo: SampleRepo,
    fake_claude: FakeAnthropic,
    fake_github: FakeGitHub,
    tmp_path: Path,
) -> None:
    traceback = genuine_traceback(sample_repo.work)
    fake_claude.script.extend(tool_reply(**analysis()) for _ in range(6))
    asyncio.run(ensure_topics(kafka_settings))
    env = {
        "ANTHROPIC_API_KEY": fake_claude.api_key,
        "ANTHROPIC_BASE_URL": fake_claude.base_url,
        "GITHUB_TOKEN": fake_github.token,
        "STREAMFIX_GITHUB_API_URL": fake_github.base_url,
        "STREAMFIX_GITHUB_REPO": fake_github.full_name,
        "STREAMFIX_REPO_URL": str(sample_repo.remote),
        "STREAMFIX_ANTHROPIC_MAX_RETRIES": "0",
        "STREAMFIX_FIX_DRAFT_PRS": "false",
    }
    worker_env = {
        **env,
        "STREAMFIX_FIX_CLONE_DIR": str(tmp_path / "clone"),
        "STREAMFIX_FIX_TRACK_INTERVAL": "1",
        "STREAMFIX_FIX_THRESHOLD_COUNT": "1",
        "STREAMFIX_FIX_REGRESSION_GRACE_SECONDS": "0",
        "STREAMFIX_API_CACHE_SECONDS": "0",
        "STREAMFIX_API_TOKEN": "lifecycle-token",
    }
    auth = {"Authorization": "Bearer lifecycle-token"}
    api = f"http://127.0.0.1:{kafka_settings.web_port}/error-monitor"

    def detail(kind: str) -> Any:
        return httpx.get(f"{api}/patterns/{FPS[kind]}", timeout=5).json()

    def wait_detail(kind: str, predicate: Any, timeout: float = 120) -> Any:
        return wait_http_json(f"{api}/patterns/{FPS[kind]}", predicate, timeout=timeout)

    def attempt_reached(attempt: int, status: str) -> Any:
        return lambda d: any(
            f.get("attempt") == attempt and f["status"] == status for f in d.get("fixes", [])
        )

    events = tmp_path / "cli-events.jsonl"
    log_path = tmp_path / "worker.log"
    with running_worker(kafka_settings, log_path, **worker_env) as proc:
        now = time.time()
        asyncio.run(
            publish(
                kafka_settings, [occurrence(FPS[k], traceback, auto_fix=k == "auto", at=now) for k in FPS]
            )
        )
        for kind in FPS:
            wait_detail(kind, lambda d: isinstance(d.get("error"), dict))
        # attempt 1: automatic (threshold 1), through the API, and from the CLI
        requested = httpx.post(
            f"{api}/fixes/generate-for-error", params={"error_id": FPS["api"]}, headers=auth, timeout=10
        )
        assert requested.status_code == 202, requested.text
        assert requested.json()["request_ids"] == [f"{FPS['api']}#1"]
        events.write_text(occurrence(FPS["cli"], traceback, auto_fix=False, at=now).model_dump_json() + "\n")
        first_cli = cli_fix(kafka_settings, events, env, log_path)
        assert first_cli.returncode == 0, first_cli.stderr[-3000:]
        for kind in FPS:
            wait_detail(kind, attempt_reached(1, "pr_open"))
        assert len(fake_github.pulls) == 3
        for number in list(fake_github.pulls):
            fake_github.merge(number)
        for kind in FPS:
            merged = wait_detail(kind, lambda d: (d.get("fix_state") or {}).get("status") == "merged")
            assert merged["fix_state"]["attempt"] == 1
            assert merged["error"]["status"] == "fixed"

        # the errors come back after the merge
        again = time.time() + 1
        asyncio.run(
            publish(
                kafka_settings, [occurrence(FPS[k], traceback, auto_fix=k == "auto", at=again) for k in FPS]
            )
        )
        for kind in FPS:
            wait_detail(kind, lambda d: d["error"]["status"] == "regressed")
        requested = httpx.post(
            f"{api}/fixes/generate-for-error", params={"error_id": FPS["api"]}, headers=auth, timeout=10
        )
        assert requested.status_code == 202, requested.text
        assert requested.json()["request_ids"] == [f"{FPS['api']}#2"]
        second_cli = cli_fix(kafka_settings, events, env, log_path)
        assert second_cli.returncode == 0, second_cli.stderr[-3000:]
        assert f'"request_id":"{FPS["cli"]}#2"' in second_cli.stdout
        finals = {kind: wait_detail(kind, attempt_reached(2, "pr_open")) for kind in FPS}
        patterns = httpx.get(f"{api}/errors/patterns", timeout=5).json()
    assert proc.returncode == 0, log_path.read_text()[-3000:]
    for kind, final in finals.items():
        by_attempt = {f["attempt"]: f for f in final["fixes"]}
        assert set(by_attempt) == {1, 2}, kind
        assert by_attempt[1]["status"] == "merged" and by_attempt[2]["status"] == "pr_open", kind
        assert by_attempt[1]["fix_id"] != by_attempt[2]["fix_id"]
        assert by_attempt[1]["trigger"] == ("threshold" if kind == "auto" else kind)
        assert final["fix_state"]["attempt"] == 2
        assert final["error"]["status"] == "regressed"
    assert {p["fingerprint"]: p["status"] for p in patterns["patterns"]} == dict.fromkeys(
        FPS.values(), "regressed"
    )
    assert len(fake_github.pulls) == 6
    assert sorted(p.state for p in fake_github.pulls.values()) == ["closed"] * 3 + ["open"] * 3


def test_quiet_pattern_is_archived_and_comes_back_regressed(kafka_settings: Settings, tmp_path: Path) -> None:
    """A pattern quiet for the archive period leaves /errors/patterns (the ``archived`` filter shows
    it) and comes back as ``regressed`` with its next occurrence."""
    archive_seconds = 6.0
    env = {
        "STREAMFIX_PATTERN_ARCHIVE_DAYS": str(archive_seconds / 86400),
        "STREAMFIX_API_CACHE_SECONDS": "0",
        "STREAMFIX_PATTERN_ARCHIVE_SWEEP_SECONDS": "1",
    }
    api = f"http://127.0.0.1:{kafka_settings.web_port}/error-monitor"
    traceback = "Traceback (most recent call last):\n  File \"/app/a.py\", line 3, in f\nKeyError: 'k'"
    quiet, busy = "fp1:aaaa0000aaaa0000", "fp1:bbbb1111bbbb1111"
    asyncio.run(ensure_topics(kafka_settings))

    def listed(**params: str) -> dict[str, str]:
        try:
            body = httpx.get(f"{api}/errors/patterns", params=params, timeout=5).json()
        except httpx.HTTPError:
            return {}
        return {p["fingerprint"]: p["status"] for p in body["patterns"]}

    with running_worker(kafka_settings, tmp_path / "worker.log", **env) as proc:
        deadline = time.monotonic() + 120
        while not listed() and time.monotonic() < deadline:  # until the worker is up and counting
            asyncio.run(
                publish(kafka_settings, [occurrence(busy, traceback, auto_fix=False, at=time.time())])
            )
            time.sleep(0.5)
        start = time.time()
        asyncio.run(publish(kafka_settings, [occurrence(quiet, traceback, auto_fix=False, at=start)]))
        wait_http_json(f"{api}/errors/patterns", lambda b: len(b.get("patterns", [])) == 2)
        # keep one pattern busy while the other stays quiet for the archive period
        while time.time() < start + archive_seconds + 0.5:
            asyncio.run(
                publish(kafka_settings, [occurrence(busy, traceback, auto_fix=False, at=time.time())])
            )
        shown = wait_http_json(f"{api}/errors/patterns", lambda b: len(b.get("patterns", [])) == 1)
        assert [p["fingerprint"] for p in shown["patterns"]] == [busy]
        assert listed(archived="only") == {quiet: "archived"}
        assert listed(archived="include") == {quiet: "archived", busy: "active"}
        # its table value is compacted by the owner: no sample traceback, frames or windows any more
        small = wait_http_json(f"{api}/patterns/{quiet}", lambda d: d.get("traceback") == "")
        assert (small["frames"], small["error"]["total_count"]) == ([], 1)
        asyncio.run(
            publish(
                kafka_settings,
                [
                    occurrence(quiet, traceback, auto_fix=False, at=time.time()),
                    occurrence(busy, traceback, auto_fix=False, at=time.time()),
                ],
            )
        )
        back = wait_http_json(f"{api}/errors/patterns", lambda b: len(b.get("patterns", [])) == 2)
        assert {p["fingerprint"]: p["status"] for p in back["patterns"]} == {
            quiet: "regressed",
            busy: "active",
        }
        again = httpx.get(f"{api}/patterns/{quiet}", timeout=5).json()
        assert again["traceback"] == traceback and again["error"]["total_count"] == 2
    assert proc.returncode == 0


def test_merged_fix_whose_errors_rise_gets_exactly_one_revert_pr(
    kafka_settings: Settings,
    sample_repo: SampleRepo,
    fake_claude: FakeAnthropic,
    fake_github: FakeGitHub,
    tmp_path: Path,
) -> None:
    """The fix is squash-merged onto main on the fake GitHub; its pattern then occurs above the revert
    threshold. One revert pull request (labelled, not merged) undoes the squash commit, however many
    times the reverter looks again."""
    traceback = genuine_traceback(sample_repo.work)
    fake_claude.script.append(tool_reply(**analysis()))
    asyncio.run(ensure_topics(kafka_settings))
    original = (sample_repo.work / "shop" / "pricing.py").read_text()
    env = {
        "ANTHROPIC_API_KEY": fake_claude.api_key,
        "ANTHROPIC_BASE_URL": fake_claude.base_url,
        "GITHUB_TOKEN": fake_github.token,
        "STREAMFIX_GITHUB_API_URL": fake_github.base_url,
        "STREAMFIX_GITHUB_REPO": fake_github.full_name,
        "STREAMFIX_REPO_URL": str(sample_repo.remote),
        "STREAMFIX_ANTHROPIC_MAX_RETRIES": "0",
        "STREAMFIX_FIX_CLONE_DIR": str(tmp_path / "clone"),
        "STREAMFIX_FIX_TRACK_INTERVAL": "1",
        "STREAMFIX_FIX_REGRESSION_GRACE_SECONDS": "0",
        "STREAMFIX_API_CACHE_SECONDS": "0",
        "STREAMFIX_API_TOKEN": "revert-token",
        "STREAMFIX_FIX_REVERT_ENABLED": "true",
        "STREAMFIX_FIX_REVERT_THRESHOLD": "3",
    }
    api = f"http://127.0.0.1:{kafka_settings.web_port}/error-monitor"
    fp = FPS["api"]
    url = f"{api}/patterns/{fp}"
    with running_worker(kafka_settings, tmp_path / "worker.log", **env) as proc:
        asyncio.run(publish(kafka_settings, [occurrence(fp, traceback, auto_fix=False, at=time.time())]))
        wait_http_json(url, lambda d: isinstance(d.get("error"), dict), timeout=120)
        requested = httpx.post(
            f"{api}/fixes/generate-for-error",
            params={"error_id": fp},
            headers={"Authorization": "Bearer revert-token"},
            timeout=10,
        )
        assert requested.status_code == 202, requested.text
        wait_http_json(url, lambda d: any(f["status"] == "pr_open" for f in d["fixes"]))
        squash = fake_github.merge(1, method="squash")
        assert squash is not None
        wait_http_json(url, lambda d: (d.get("fix_state") or {}).get("status") == "merged")
        # two occurrences: regressed, but under the threshold of 3
        again = time.time() + 1
        asyncio.run(
            publish(
                kafka_settings, [occurrence(fp, traceback, auto_fix=False, at=again + i) for i in range(2)]
            )
        )
        wait_http_json(url, lambda d: d["error"]["total_count"] == 3 and d["error"]["status"] == "regressed")
        time.sleep(3)  # three reverter rounds (interval 1 s) see 2 occurrences: nothing may happen
        assert len(fake_github.pulls) == 1
        asyncio.run(publish(kafka_settings, [occurrence(fp, traceback, auto_fix=False, at=again + 5)]))
        reverted = wait_http_json(url, lambda d: any(f.get("revert_pr_number") for f in d["fixes"]))
        time.sleep(3)  # more rounds: still one revert
    assert proc.returncode == 0
    (fix,) = reverted["fixes"]
    assert (fix["status"], fix["revert_reason"], fix["revert_pr_number"]) == ("merged", "regressed", 2)
    assert len(fake_github.pulls) == 2
    revert = fake_github.pulls[2]
    assert (revert.state, revert.merged, revert.base) == ("open", False, "main")
    assert revert.head == f"auto-revert/{fix['fix_id']}"
    assert revert.labels == ["revert", "auto-fix"]
    assert (
        "Reverts #1" in revert.body
        and squash in revert.body
        and "| Occurrences in the window | 3" in revert.body
    )

    # the revert branch undoes the squash commit: pricing.py is back to what it was before the fix
    def show(ref: str) -> str:
        return subprocess.run(
            ["git", "--git-dir", str(sample_repo.remote), "show", f"{ref}:shop/pricing.py"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    assert show("main") != original
    assert show(revert.head) == original
    parent = subprocess.run(
        ["git", "--git-dir", str(sample_repo.remote), "rev-parse", f"{revert.head}~1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert parent == squash


def test_two_models_both_candidates_recorded_and_the_best_pushed(
    kafka_settings: Settings,
    sample_repo: SampleRepo,
    fake_claude: FakeAnthropic,
    fake_github: FakeGitHub,
    tmp_path: Path,
) -> None:
    """Two models answer the same request: model A is more confident but its edit does not make the
    project's test command (the sample app) pass, model B's does. Both candidates are kept with their
    checks and scores; B's fix is the one committed, pushed and described in the pull request."""
    from tests.fakes.anthropic_server import Reply

    traceback = genuine_traceback(sample_repo.work)
    weak = analysis(
        confidence=0.97,
        edits=[
            {
                "path": "shop/pricing.py",
                "search": '"""Order statistics."""\n',
                "replace": '"""Order statistics (totals and averages)."""\n',
            }
        ],
    )
    strong = analysis(confidence=0.8)
    answers = {"claude-model-a": weak, "claude-model-b": strong}

    def respond(body: dict[str, Any]) -> Reply:
        return tool_reply(**answers[body["model"]])

    fake_claude.responder = respond
    asyncio.run(ensure_topics(kafka_settings))
    env = {
        "ANTHROPIC_API_KEY": fake_claude.api_key,
        "ANTHROPIC_BASE_URL": fake_claude.base_url,
        "GITHUB_TOKEN": fake_github.token,
        "STREAMFIX_GITHUB_API_URL": fake_github.base_url,
        "STREAMFIX_GITHUB_REPO": fake_github.full_name,
        "STREAMFIX_REPO_URL": str(sample_repo.remote),
        "STREAMFIX_ANTHROPIC_MAX_RETRIES": "0",
        "STREAMFIX_FIX_CLONE_DIR": str(tmp_path / "clone"),
        "STREAMFIX_API_CACHE_SECONDS": "0",
        "STREAMFIX_API_TOKEN": "models-token",
        "STREAMFIX_FIX_CANDIDATE_MODELS": "claude-model-a,claude-model-b",
        "STREAMFIX_FIX_TEST_COMMAND": f"{sys.executable} -m shop.main",
        "STREAMFIX_FIX_TEST_TIMEOUT_SECONDS": "60",
    }
    api = f"http://127.0.0.1:{kafka_settings.web_port}/error-monitor"
    fp = FPS["auto"]
    url = f"{api}/patterns/{fp}"
    with running_worker(kafka_settings, tmp_path / "worker.log", **env) as proc:
        asyncio.run(publish(kafka_settings, [occurrence(fp, traceback, auto_fix=False, at=time.time())]))
        wait_http_json(url, lambda d: isinstance(d.get("error"), dict), timeout=120)
        requested = httpx.post(
            f"{api}/fixes/generate-for-error",
            params={"error_id": fp},
            headers={"Authorization": "Bearer models-token"},
            timeout=10,
        )
        assert requested.status_code == 202, requested.text
        done = wait_http_json(url, lambda d: any(f["status"] == "pr_open" for f in d["fixes"]), timeout=120)
    assert proc.returncode == 0
    (fix,) = done["fixes"]
    assert sorted(b["model"] for b in fake_claude.requests) == ["claude-model-a", "claude-model-b"]
    assert fix["model"] == "claude-model-b"
    by_model = {c["model"]: c for c in fix["candidates"]}
    assert set(by_model) == {"claude-model-a", "claude-model-b"}
    a, b = by_model["claude-model-a"], by_model["claude-model-b"]
    assert (a["policy"], a["compiles"], a["tests"]) == (True, True, False)
    assert (b["policy"], b["compiles"], b["tests"]) == (True, True, True)
    assert b["score"] > 100 > a["score"] > 10
    assert "if not orders" in fix["diff"]
    pushed = subprocess.run(
        ["git", "--git-dir", str(sample_repo.remote), "show", f"{fix['branch']}:shop/pricing.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "if not orders" in pushed and "(totals and averages)" not in pushed
    body = fake_github.pulls[1].body
    assert "## Candidates" in body and "`claude-model-a`" in body and "| chosen |" in body
