"""``streamfix extract``: a realistic Railway stream with genuine tracebacks, summary, stdin, rules."""

from __future__ import annotations

import functools
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from streamfix.cli.extract import command

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "streamfix" / "samples" / "railway_sample.jsonl"


@functools.cache
def sample_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_sample_logs", ROOT / "scripts" / "make_sample_logs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_extract(*args: str, stdin: str | None = None) -> list[dict[str, Any]]:
    result = CliRunner().invoke(command, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return [orjson.loads(line) for line in result.output.splitlines()]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[int, str, str]]]:
    script = sample_script()
    stderr = {p.name: p.run() for p in script.PROGRAMS if p.name in script.SCHEDULE and p.available}
    lines, written = script.build(stderr)
    path = tmp_path_factory.mktemp("sample") / "railway.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path, written


def expected_of(name: str, service: str) -> tuple[str, str | None, int | None, str | None]:
    script = sample_script()
    if name.startswith("log:"):
        return script.LOG_ERROR_EXPECTED[int(name[4:])]  # type: ignore[no-any-return]
    program = next(p for p in script.PROGRAMS if p.name == name)
    file = program.file if program.file != str(program.path) else f"/app/{service}/{program.path.name}"
    return program.error_type, file, program.line, program.function


def test_every_error_found_and_nothing_else(generated: tuple[Path, list[tuple[int, str, str]]]) -> None:
    path, written = generated
    events = run_extract(str(path))
    assert [e["line_start"] for e in events] == [start for start, _, _ in written]
    for event, (_, name, service) in zip(events, written, strict=True):
        assert (event["error_type"], event["file"], event["line"], event["function"]) == expected_of(name, service), name
        assert event["service"] == service
        assert event["fingerprint"].startswith("fp")
        assert event["category"]
        assert event["suggested_fix"]


def test_gapped_tracebacks_are_flagged_incomplete(generated: tuple[Path, list[tuple[int, str, str]]]) -> None:
    path, written = generated
    events = run_extract(str(path))
    incomplete = {name for event, (_, name, _) in zip(events, written, strict=True) if event["incomplete"]}
    assert incomplete == {"app_key_error"} & {name for _, name, _ in written}


def test_committed_sample_is_current() -> None:
    events = run_extract(str(SAMPLE))
    assert len(events) == len(sample_script().LOG_ERRORS) + sum(times for _, times in sample_script().SCHEDULE.values())
    lines = SAMPLE.read_text().splitlines()
    for event in events:
        first = orjson.loads(lines[event["line_start"]])
        assert (first.get("level") or first.get("severity")) == "error"
        assert not first["message"].startswith("INFO")


def test_summary_table() -> None:
    result = CliRunner().invoke(command, ["--summary", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    header, *rows, total = result.output.splitlines()
    assert header.split()[:5] == ["COUNT", "CATEGORY", "SEVERITY", "FINGERPRINT", "TYPE"]
    assert rows[0].split()[0] == "4"
    assert total.endswith("patterns")


TEXT_LOG = """2026-11-28 12:00:00,000 INFO app: starting, 0 errors
2026-11-28 12:00:01,000 ERROR app.jobs: export failed
Traceback (most recent call last):
  File "/app/jobs.py", line 7, in export
    rows[5]
IndexError: list index out of range
2026-11-28 12:00:02,000 INFO app: error budget fine
"""


def test_stdin_plain_text() -> None:
    events = run_extract(stdin=TEXT_LOG)
    assert [(e["line_start"], e["line_end"], e["error_type"], e["function"], e["logger"]) for e in events] == [
        (1, 5, "IndexError", "export", "app.jobs")
    ]
    assert "frames" not in events[0]


def test_frames_flag_and_format_override() -> None:
    events = run_extract("--frames", "--format", "text", "-", stdin=TEXT_LOG)
    assert events[0]["frames"] == [
        {"file": "/app/jobs.py", "line": 7, "function": "export", "in_app": True, "module": "jobs", "code": "rows[5]"}
    ]


def test_user_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nname = "jobs"\nlogger = "^app\\\\.jobs$"\nseverity = "LOW"\ntitle = "Export job"\n')
    events = run_extract("--rules", str(rules), stdin=TEXT_LOG)
    assert (events[0]["severity"], events[0]["title"], events[0]["rule"]) == ("LOW", "Export job", "user:jobs")


def test_bad_rules_file_is_a_usage_error(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\ntype = "("\n')
    result = CliRunner().invoke(command, ["--rules", str(rules)], input="")
    assert result.exit_code == 2
    assert "bad rules file" in result.output


def test_command_imports_stay_light() -> None:
    code = (
        "import sys, streamfix.cli.extract; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'faust', 'aiokafka', 'anthropic', 'httpx', 'github', 'git'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
