"""``streamfix templates``: JSON lines in input order, from a file or stdin, as a real process too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
from click.testing import CliRunner

from streamfix.cli.templates import command

REPO = Path(__file__).resolve().parents[3]
LINES = [
    b"2015-10-18 18:01:47,978 INFO [main] org.apache.App: Created app 1",
    b"2015-10-18 18:01:48,001 INFO [main] org.apache.App: Created app 22\r",
    b"connection reset by peer",
    b"",
    b"caf\xc3\xa9 \xff 7",
]
INPUT = b"\n".join(LINES) + b"\n"


def records(output: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in output.splitlines()]


def test_one_object_per_line_in_order_from_stdin() -> None:
    result = CliRunner().invoke(command, [], input=INPUT)
    assert result.exit_code == 0, result.output
    out = records(result.stdout_bytes)
    assert len(out) == len(LINES)
    assert out[0] == out[1]
    assert out[0]["template"] == "Created app <*>"
    assert out[2]["template"] == "connection reset by peer"
    assert out[3]["template"] == ""
    assert out[4]["template"] == "café \ufffd <*>"
    assert all(set(r) == {"group", "template"} for r in out)


def test_reads_file_and_writes_state(tmp_path: Path) -> None:
    source = tmp_path / "in.log"
    source.write_bytes(b"".join(f"session closed by u{c}x{c}\n".encode() for c in "abcdefghij"))
    names = b"".join(
        f"job {w} finished\n".encode()
        for w in ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa")
    )
    source.write_bytes(source.read_bytes() + names + b"last line without newline")
    state_path = tmp_path / "state.json"
    result = CliRunner().invoke(command, [str(source), "--state", str(state_path)])
    assert result.exit_code == 0, result.output
    out = records(result.stdout_bytes)
    assert len(out) == 21
    assert out[-1]["template"] == "last line without newline"
    state = orjson.loads(state_path.read_bytes())
    job_ids = {r["group"] for r in out[10:20]}
    assert len(job_ids) == 9, "nine groups on arrival; the tenth distinct name merges them"
    assert out[19]["group"] == out[10]["group"]
    assert out[19]["merged"] == {r["group"]: out[10]["group"] for r in out[11:19]}
    assert out[7]["merged"] == {out[n]["group"]: out[0]["group"] for n in range(1, 7)}, (
        "a last token needs eight"
    )
    assert sum("merged" in r for r in out) == 2
    assert {state["aliases"].get(g, g) for g in job_ids} == {out[10]["group"]}


def test_state_file_resumes_between_runs(tmp_path: Path) -> None:
    state_path = tmp_path / "state.json"
    first = CliRunner().invoke(command, ["--state", str(state_path)], input=INPUT)
    second = CliRunner().invoke(command, ["--state", str(state_path)], input=INPUT)
    assert records(first.stdout_bytes) == records(second.stdout_bytes)
    state = orjson.loads(state_path.read_bytes())
    assert sum(group["count"] for group in state["groups"]) == 2 * len(LINES)


def test_bad_state_file_is_a_clear_error(tmp_path: Path) -> None:
    state_path = tmp_path / "state.json"
    state_path.write_text('{"version": 99}')
    result = CliRunner().invoke(command, ["--state", str(state_path)], input=INPUT)
    assert result.exit_code == 1
    assert "cannot load template state" in result.output


def test_closed_output_pipe_is_not_an_error(tmp_path: Path) -> None:
    source = tmp_path / "in.log"
    source.write_bytes(b"line 1\n" * 200_000)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from streamfix.cli import main; main()", "templates", str(source)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    assert proc.stdout is not None
    proc.stdout.read(100)
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0
    assert proc.stderr is not None
    assert b"Traceback" not in proc.stderr.read()


def test_output_is_the_same_in_every_process(tmp_path: Path) -> None:
    source = tmp_path / "in.log"
    lines = [f"job {w} finished in {i}ms" for i, w in enumerate(list("abcdefghijkl") * 3)]
    lines += [f"session closed for user {w}" for w in ("ann", "ben", "cat", "dan", "eve")]
    source.write_text("\n".join(lines) + "\n")
    outputs = {
        subprocess.run(
            [sys.executable, "-c", "from streamfix.cli import main; main()", "templates", str(source)],
            capture_output=True,
            check=True,
            cwd=REPO,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        ).stdout
        for seed in ("0", "1", "12345")
    }
    assert len(outputs) == 1
    assert b"merged" in next(iter(outputs))


def test_only_newline_ends_a_line() -> None:
    result = CliRunner().invoke(command, ["--no-headers"], input=b"a\rb 1\r\nc 2\n")
    out = records(result.stdout_bytes)
    assert [r["template"] for r in out] == ["a b <*>", "c <*>"], "a lone \\r is whitespace, not a line end"


def test_runs_as_a_process_with_light_imports(tmp_path: Path) -> None:
    source = tmp_path / "in.log"
    source.write_bytes(INPUT)
    code = (
        "import sys; from streamfix.cli import main\n"
        "try:\n    main(['templates', sys.argv[1]])\n"
        "except SystemExit as e:\n"
        "    heavy = {'faust', 'aiokafka', 'anthropic', 'github', 'git'} & set(sys.modules)\n"
        "    assert not heavy, heavy\n    raise\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(source)], capture_output=True, check=True, cwd=REPO
    )
    assert records(proc.stdout) == records(CliRunner().invoke(command, [str(source)]).stdout_bytes)
