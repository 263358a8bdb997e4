"""Shared pieces of the fixer tests: the sample repo with a bare remote, a genuine traceback, requests."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamfix.kafka.wire import FixRequest, FixResult, FrameRecord
from streamfix.runtime.settings import Settings

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "sample_repo"
FINGERPRINT = "fp1:5f2c0e9a4b7d1c3e"

GOOD_EDIT = {
    "path": "shop/pricing.py",
    "search": "    return total / len(orders)\n",
    "replace": "    if not orders:\n        return 0.0\n    return total / len(orders)\n",
}


def analysis(**over: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "root_cause": "average_order_value divides by the number of orders, which is zero for new customers.",
        "explanation": "Return 0.0 when there are no orders.",
        "confidence": 0.92,
        "fixability": 0.9,
        "edits": [GOOD_EDIT],
    }
    out.update(over)
    return out


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass
class SampleRepo:
    work: Path  # a developer checkout (source of the first push)
    remote: Path  # the bare remote fixes are pushed to
    outside: Path  # a folder outside every repo; symlinks in the repo point here


def make_sample_repo(tmp_path: Path) -> SampleRepo:
    work = tmp_path / "dev"
    shutil.copytree(SAMPLE, work, ignore=shutil.ignore_patterns("__pycache__", ".mypy_cache", ".ruff_cache"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.py").write_text("VALUE = 1\n")
    (work / "shop" / "linked.py").symlink_to(outside / "target.py")
    (work / "vendor").symlink_to(outside, target_is_directory=True)
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "initial")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(work, "remote", "add", "origin", str(remote))
    git(work, "push", "-q", "origin", "main")
    return SampleRepo(work, remote, outside)


def genuine_traceback(work: Path) -> str:
    """Run the sample app; its real traceback, with the checkout path shown as the container's /app."""
    proc = subprocess.run(
        [sys.executable, "-m", "shop.main"], cwd=work, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1
    return proc.stderr.replace(str(work), "/app").strip()


def run_app(work: Path) -> int:
    """Exit status of the sample app run from ``work``."""
    return subprocess.run(
        [sys.executable, "-m", "shop.main"], cwd=work, capture_output=True, check=False
    ).returncode


_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>.+)$', re.MULTILINE)


def frames_of(traceback: str) -> list[FrameRecord]:
    return [
        FrameRecord(
            file=m["file"], line=int(m["line"]), function=m["func"], in_app=m["file"].startswith("/app/")
        )
        for m in _FRAME.finditer(traceback)
    ]


def make_request(traceback: str, **over: Any) -> FixRequest:
    frames = frames_of(traceback)
    inner = [f for f in frames if f.in_app][-1]
    data: dict[str, Any] = {
        "request_id": f"{FINGERPRINT}#1",
        "fingerprint": FINGERPRINT,
        "category": "internal_error",
        "severity": "HIGH",
        "error_type": "ZeroDivisionError",
        "message": "division by zero",
        "file": inner.file,
        "line": inner.line,
        "function": inner.function,
        "frames": frames,
        "sample_traceback": traceback,
        "occurrences": 42,
        "first_seen": 1_764_300_000.0,
        "last_seen": 1_764_303_600.0,
        "services": ["shop-worker"],
        "suggested_fix": "Guard against empty collections before dividing.",
        "requested_at": 1_764_303_700.0,
    }
    data.update(over)
    return FixRequest.model_validate(data)


def fix_settings(tmp_path: Path, remote: Path, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "anthropic_api_key": "sk-ant-test-key",
        "anthropic_max_retries": 0,
        "anthropic_timeout": 10.0,
        "fix_retry_attempts": 2,
        "fix_retry_base_delay": 0.0,
        "github_token": "ghp_fake",
        "github_repo": "acme/shop",
        "repo_url": str(remote),
        "repo_default_branch": "main",
        "fix_clone_dir": tmp_path / "clone",
        "fix_park_seconds": 60.0,
    }
    values.update(over)
    return Settings(**values)


@dataclass
class Recorder:
    results: list[FixResult] = field(default_factory=list)
    parked: list[tuple[FixRequest, float]] = field(default_factory=list)

    async def publish(self, result: FixResult) -> None:
        self.results.append(result)

    async def park(self, request: FixRequest, not_before: float) -> None:
        self.parked.append((request, not_before))

    @property
    def statuses(self) -> list[str]:
        return [r.status for r in self.results]


def tree_snapshot(root: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Every file, folder and link under ``root`` (outside ``.git`` objects) with a content hash."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = Path(dirpath).relative_to(root)
        if any(part in skip for part in rel_dir.parts):
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(rel_dir / name)
            if path.is_symlink():
                out[rel] = "link:" + os.readlink(path)
            elif path.is_file():
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                out[rel] = "dir"
    return out


def build_service(settings: Settings, github_url: str, recorder: Recorder, **over: Any) -> Any:
    """A FixService with the real adapters, pointed at the fakes (PyGithub's write throttle off)."""
    from streamfix.fixing.claude import ClaudeAnalyzer
    from streamfix.fixing.github import GitHubPulls
    from streamfix.fixing.gitops import GitOps
    from streamfix.fixing.service import FixService

    token = settings.github_token.get_secret_value() if settings.github_token else None
    adapters: dict[str, Any] = {
        "analyzer": ClaudeAnalyzer.from_settings(settings) if settings.anthropic_api_key else None,
        "git": GitOps(
            settings.fix_clone_dir, str(settings.repo_url), settings.repo_default_branch, token=token
        ),
        "pulls": (
            GitHubPulls(
                github_url,
                token,
                str(settings.github_repo),
                seconds_between_requests=0,
                seconds_between_writes=0,
            )
            if token
            else None
        ),
    }
    adapters.update({"publish": recorder.publish, "park": recorder.park})
    adapters.update(over)
    return FixService(settings, **adapters)
