"""``streamfix watch ...`` and ``streamfix scan``: documented flags and one-line failures."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from streamfix.cli import main
from tests.fakes import RAILWAY_BIN
from tests.fakes.loki_server import FakeLoki

STREAMFIX = Path(sys.executable).parent / "streamfix"

FLAGS = {
    ("watch", "railway"): ["--service", "--environment", "--auto-fix", "--interval", "--log-level", "--railway-bin",
                           "--log-file", "--verify-every", "--page-lines", "--since"],
    ("watch", "loki"): ["--query", "--url", "--org-id", "--interval", "--live", "--auto-fix", "--log-level"],
    ("watch", "file"): ["PATH...", "--from-end", "--interval", "--format", "--auto-fix", "--log-level"],
    ("watch", "stdin"): ["--name", "--format", "--auto-fix", "--log-level"],
    ("scan",): ["--hours", "--query", "--url", "--org-id", "--auto-fix", "--log-level"],
    ("watch",): ["railway", "loki", "file", "stdin"],
}


@pytest.mark.parametrize("args", list(FLAGS), ids=lambda a: " ".join(a))
def test_help_documents_every_flag(args: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0, result.output
    for flag in FLAGS[args]:
        assert flag in result.output


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("streamfix: error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("args", "env", "code", "needle"),
    [
        pytest.param(["watch", "railway", "--railway-bin", "/nonexistent/railway"], {}, 1, "railway CLI not found",
                     id="railway-missing-cli"),
        pytest.param(["watch", "loki", "--query", "{app=\"x\"}"], {}, 2, "no Loki URL", id="loki-missing-url"),
        pytest.param(["watch", "loki", "--url", "http://127.0.0.1:9"], {}, 2, "no LogQL query", id="loki-missing-query"),
        pytest.param(["scan", "--hours", "1", "--query", "{a=\"b\"}"], {}, 2, "no Loki URL", id="scan-missing-url"),
    ],
)
def test_missing_configuration_is_one_line(args: list[str], env: dict[str, str], code: int, needle: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STREAMFIX_LOKI_URL", raising=False)
    monkeypatch.delenv("STREAMFIX_LOKI_QUERY", raising=False)
    result = CliRunner().invoke(main, [*args, "--log-level", "ERROR"], env=env)
    assert result.exit_code == code
    assert needle in one_error_line(result.stderr)


async def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(STREAMFIX), *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert proc.returncode is not None
    return proc.returncode, err.decode()


@pytest.mark.timeout(60)
async def test_wrong_loki_credential_is_one_line(tmp_path: Path) -> None:
    async with FakeLoki(token="right-token") as loki:
        env = {"PATH": "/usr/bin:/bin", "STREAMFIX_LOKI_TOKEN": "wrong-token", "STREAMFIX_LOG_LEVEL": "ERROR"}
        code, err = await run_cli("watch", "loki", "--url", loki.url, "--query", '{app="x"}', env=env)
        assert code == 1
        assert "Loki rejected the credentials (HTTP 401)" in one_error_line(err)
        assert "wrong-token" not in err
        code, err = await run_cli("scan", "--hours", "1", "--url", loki.url, "--query", '{app="x"}', env=env)
        assert code == 1
        assert "HTTP 401" in one_error_line(err)


@pytest.mark.timeout(60)
async def test_railway_not_logged_in_passes_the_cli_message_through(tmp_path: Path) -> None:
    env = {"PATH": f"{RAILWAY_BIN.parent}:/usr/bin:/bin", "FAKE_RAILWAY_NOT_LOGGED_IN": "1",
           "STREAMFIX_LOG_LEVEL": "ERROR", "STREAMFIX_BROKER": "127.0.0.1:1"}
    code, err = await run_cli("watch", "railway", "--service", "api", env=env)
    assert code == 1
    line = one_error_line(err)
    assert "railway CLI failed (exit 1): Unauthorized. Please login with `railway login`" in line


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("fake_env", "message"),
    [
        pytest.param({"FAKE_RAILWAY_NOT_LOGGED_IN": "1"}, "railway CLI failed (exit 1): Unauthorized. Please login "
                     "with `railway login`", id="not-logged-in"),
        pytest.param({"FAKE_RAILWAY_NO_LINK": "1"}, "railway CLI failed (exit 1): No linked project found. Run "
                     "railway link to connect to a project (Run `railway link` to connect to a project.)", id="no-link"),
    ],
)
@pytest.mark.parametrize("args", [["--service", "api"], []], ids=["service", "all-services"])
async def test_railway_errors_with_backtraces_are_the_clis_message_in_one_line(
    fake_env: dict[str, str], message: str, args: list[str]
) -> None:
    env = {"PATH": f"{RAILWAY_BIN.parent}:/usr/bin:/bin", "RUST_BACKTRACE": "1", "STREAMFIX_LOG_LEVEL": "ERROR",
           "STREAMFIX_BROKER": "127.0.0.1:1", **fake_env}
    code, err = await run_cli("watch", "railway", *args, env=env)
    assert code == 1
    assert one_error_line(err) == f"streamfix: error: {message}"


def test_railway_log_file_is_appended(tmp_path: Path) -> None:
    log_file = tmp_path / "watch.log"
    log_file.write_text("older line\n")
    env = {"PATH": f"{RAILWAY_BIN.parent}:/usr/bin:/bin", "FAKE_RAILWAY_SERVICES": "api,worker",
           "FAKE_RAILWAY_LOG": str(tmp_path / "{service}.jsonl"), "STREAMFIX_BROKER": "127.0.0.1:1",
           "STREAMFIX_LOG_FORMAT": "text"}
    result = CliRunner().invoke(main, ["watch", "railway", "--log-file", str(log_file), "--log-level", "INFO"], env=env)
    assert result.exit_code == 1  # no broker
    text = log_file.read_text()
    assert text.startswith("older line\n")
    assert "railway services discovered" in text


def test_error_line_never_shows_url_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMFIX_LOKI_PASSWORD", "pw-secret-123")
    result = CliRunner().invoke(main, ["watch", "loki", "--url", "http://bob:pw-secret-123@127.0.0.1:9",
                                       "--query", '{a="b"}', "--log-level", "ERROR"])
    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    assert "cannot reach Loki" in line
    assert "pw-secret-123" not in result.stderr


REAL_RAILWAY = os.environ.get("STREAMFIX_TEST_RAILWAY_BIN", "")


@pytest.mark.timeout(60)
@pytest.mark.skipif(not REAL_RAILWAY, reason="set STREAMFIX_TEST_RAILWAY_BIN to a real railway binary (5.71.0)")
@pytest.mark.parametrize(
    ("extra", "message"),
    [({}, "Unauthorized. Please login with `railway login`"),
     ({"RAILWAY_API_TOKEN": "not-a-token"},
      "No linked project found. Run railway link to connect to a project (Run `railway link` to connect to a project.)")],
    ids=["not-logged-in", "no-link"],
)
async def test_real_railway_cli_errors_are_one_line(tmp_path: Path, extra: dict[str, str], message: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "RUST_BACKTRACE": "1", "STREAMFIX_BROKER": "127.0.0.1:1",
           "STREAMFIX_LOG_LEVEL": "ERROR", **extra}
    code, err = await run_cli("watch", "railway", "--railway-bin", REAL_RAILWAY, env=env)
    assert code == 1
    assert one_error_line(err) == f"streamfix: error: railway CLI failed (exit 1): {message}"
