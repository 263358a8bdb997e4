from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner

from streamfix.cli import main
from streamfix.cli.extract import command as extract
from tests.fakes.anthropic_server import FakeAnthropic, tool_reply
from tests.fakes.github_server import FakeGitHub
from tests.unit.fixing.helpers import SampleRepo, analysis, genuine_traceback, git, make_request


def env_for(
    tmp_path: Path, sample: SampleRepo, claude: FakeAnthropic | None, github: FakeGitHub
) -> dict[str, str | None]:
    return {
        "ANTHROPIC_API_KEY": claude.api_key if claude else None,
        "STREAMFIX_ANTHROPIC_API_KEY": None,
        "ANTHROPIC_BASE_URL": claude.base_url if claude else None,
        "STREAMFIX_ANTHROPIC_MAX_RETRIES": "0",
        "GITHUB_TOKEN": github.token,
        "STREAMFIX_GITHUB_API_URL": github.base_url,
        "STREAMFIX_GITHUB_REPO": github.full_name,
        "STREAMFIX_REPO_URL": str(sample.remote),
        "STREAMFIX_FIX_CLONE_DIR": str(tmp_path / "clone"),
    }


def events_file(tmp_path: Path, sample: SampleRepo) -> tuple[Path, str]:
    out = CliRunner().invoke(extract, ["--frames"], input=genuine_traceback(sample.work) + "\n")
    assert out.exit_code == 0, out.output
    path = tmp_path / "events.jsonl"
    path.write_text(out.output)
    return path, str(orjson.loads(out.output.splitlines()[0])["fingerprint"])


def test_dry_run_from_extract_output_prints_the_patch(
    tmp_path: Path, sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub
) -> None:
    fake_claude.script.append(tool_reply(**analysis()))
    path, fingerprint = events_file(tmp_path, sample_repo)
    before = git(sample_repo.remote, "for-each-ref")
    env = env_for(tmp_path, sample_repo, fake_claude, fake_github) | {"STREAMFIX_REPO_URL": None}
    args = ["fix", fingerprint[:12], "--from-file", str(path), "--dry-run", "--repo", str(sample_repo.work)]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("--- a/shop/pricing.py\n+++ b/shop/pricing.py\n")
    assert "fix_generated (dry run: patch only)" in result.stderr
    assert git(sample_repo.remote, "for-each-ref") == before
    prompt = fake_claude.requests[0]["messages"][0]["content"]
    assert "   14 |     return total / len(orders)" in prompt


def test_fix_request_on_stdin_with_create_pr(
    tmp_path: Path, sample_repo: SampleRepo, fake_claude: FakeAnthropic, fake_github: FakeGitHub
) -> None:
    fake_claude.script.append(tool_reply(**analysis()))
    request = make_request(genuine_traceback(sample_repo.work), create_pr=False)
    result = CliRunner().invoke(
        main,
        ["fix", request.fingerprint, "--create-pr"],
        input=request.dumps().decode(),
        env=env_for(tmp_path, sample_repo, fake_claude, fake_github),
    )
    assert result.exit_code == 0, result.output
    final = orjson.loads(result.stdout)
    assert (final["status"], final["pr_number"]) == ("pr_open", 1)
    assert fake_github.pulls[1].labels == ["auto-fix", "internal_error", "severity:high"]


def test_without_api_key_prints_the_rule_based_suggestion(
    tmp_path: Path, sample_repo: SampleRepo, fake_github: FakeGitHub
) -> None:
    path, fingerprint = events_file(tmp_path, sample_repo)
    result = CliRunner().invoke(
        main,
        ["fix", fingerprint, "--from-file", str(path)],
        env=env_for(tmp_path, sample_repo, None, fake_github),
    )
    assert result.exit_code == 0, result.output
    final = orjson.loads(result.stdout)
    assert final["status"] == "skipped_no_api_key"
    assert final["suggested_fix"]


def test_bad_inputs_are_usage_errors(
    tmp_path: Path, sample_repo: SampleRepo, fake_github: FakeGitHub
) -> None:
    path, _ = events_file(tmp_path, sample_repo)
    env = env_for(tmp_path, sample_repo, None, fake_github)
    runner = CliRunner()
    assert runner.invoke(main, ["fix", "fp1:nomatch", "--from-file", str(path)], env=env).exit_code == 2
    assert runner.invoke(main, ["fix", "fp1:x"], input="not json", env=env).exit_code == 2
