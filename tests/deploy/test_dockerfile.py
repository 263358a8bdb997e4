"""A lint of the Dockerfile (no container engine here): stages, base image, user, health check."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

import pytest

from tests.deploy.helpers import DOCKERFILE, DOCKERIGNORE, REPO_ROOT


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)


def parse_dockerfile(text: str) -> list[Stage]:
    """Instructions per stage: comments dropped, continuation lines joined, global build
    arguments (``ARG`` before the first ``FROM``) expanded with their defaults in ``FROM``."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        logical.append(current + raw)
        current = ""
    assert not current, "the Dockerfile ends inside a continued line"
    stages: list[Stage] = []
    global_args: dict[str, str] = {}
    for line in logical:
        keyword, _, args = line.strip().partition(" ")
        keyword = keyword.upper()
        args = args.strip()
        if keyword == "FROM":
            for name, default in global_args.items():
                args = args.replace("${" + name + "}", default).replace("$" + name, default)
            words = args.split()
            words = [w for w in words if not w.startswith("--platform")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        elif keyword == "ARG" and not stages:
            name, _, default = args.partition("=")
            global_args[name] = default
        else:
            assert stages, f"{keyword} before the first FROM"
            stages[-1].instructions.append((keyword, args))
    return stages


def chain(stages: list[Stage], stage: Stage) -> list[Stage]:
    """The stage and the stages it is built FROM, nearest first."""
    by_name = {s.name: s for s in stages if s.name}
    result = [stage]
    while result[-1].base in by_name:
        result.append(by_name[result[-1].base])
    return result


def effective(stages: list[Stage], stage: Stage, keyword: str) -> str | None:
    """The last value of an instruction that a stage has or inherits."""
    for s in chain(stages, stage):
        values = [args for kw, args in s.instructions if kw == keyword]
        if values:
            return values[-1]
    return None


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def final(stages: list[Stage]) -> Stage:
    return stages[-1]


def test_default_variant_is_the_runtime_stage(stages: list[Stage], final: Stage) -> None:
    assert final.name == "final"
    assert final.base == "runtime"


def test_multi_stage_on_python_311_slim(stages: list[Stage], final: Stage) -> None:
    assert len(stages) >= 2
    assert chain(stages, final)[-1].base == "python:3.11-slim"
    python_stages = [s for s in stages if s.base.startswith("python:")]
    assert {s.base for s in python_stages} == {"python:3.11-slim"}
    copies = [args for s in chain(stages, final) for kw, args in s.instructions if kw == "COPY"]
    assert any(args.startswith("--from=build ") for args in copies), "runtime must copy from the build stage"


def test_the_runtime_has_no_compiler(stages: list[Stage], final: Stage) -> None:
    runs = " ".join(args for s in chain(stages, final) for kw, args in s.instructions if kw == "RUN")
    assert "build-essential" not in runs
    assert "gcc" not in runs


@pytest.mark.parametrize("target", ["runtime", "railway"])
def test_runs_as_a_numeric_non_root_user(stages: list[Stage], target: str) -> None:
    stage = next(s for s in stages if s.name == target)
    user = effective(stages, stage, "USER")
    assert user is not None, f"{target}: no USER"
    uid = user.split(":")[0]
    assert uid.isdigit(), f"{target}: USER {user} is not numeric (Kubernetes runAsNonRoot cannot check it)"
    assert int(uid) != 0
    assert user.split(":")[-1] != "0"


def test_healthcheck_requests_the_health_route_with_urllib(stages: list[Stage], final: Stage) -> None:
    healthcheck = effective(stages, final, "HEALTHCHECK")
    assert healthcheck is not None
    options, _, command = healthcheck.partition("CMD")
    assert "--interval=" in options and "--timeout=" in options
    argv = json.loads(command.strip())
    assert argv[:2] == ["python", "-c"]
    code = argv[2]
    compile(code, "<HEALTHCHECK>", "exec")
    assert "urllib.request" in code
    assert "/error-monitor/health" in code
    assert "curl" not in healthcheck


def test_default_command_is_the_worker(stages: list[Stage], final: Stage) -> None:
    cmd = effective(stages, final, "CMD")
    assert cmd is not None
    assert json.loads(cmd) == ["streamfix", "worker"]
    entrypoint = effective(stages, final, "ENTRYPOINT")
    assert entrypoint is None or json.loads(entrypoint)[-1] == "--"
    assert "8000" in (effective(stages, final, "EXPOSE") or "")


def test_the_railway_target_carries_the_cli(stages: list[Stage]) -> None:
    railway = next(s for s in stages if s.name == "railway")
    copies = [args for kw, args in railway.instructions if kw == "COPY"]
    assert any("/usr/local/bin/railway" in args for args in copies)
    assert json.loads(effective(stages, railway, "CMD") or "[]") == [
        "streamfix",
        "watch",
        "railway",
        "--auto-fix",
    ]
    assert effective(stages, railway, "HEALTHCHECK") == "NONE"
    assert chain(stages, railway)[-1].base == "python:3.11-slim"


def test_copied_sources_exist_and_are_not_ignored(stages: list[Stage]) -> None:
    ignored = {
        line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for stage in stages:
        for keyword, args in stage.instructions:
            if keyword != "COPY" or args.startswith("--from="):
                continue
            *sources, _dest = shlex.split(args)
            for source in sources:
                if source.startswith("--"):
                    continue
                if source != "README.md":
                    # README.md is the lead's file; the build needs it because pyproject names it.
                    assert (REPO_ROOT / source).exists(), source
                assert source not in ignored, f"{source} is copied but excluded by .dockerignore"


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    entries = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    for required in (".env", ".venv", ".git", ".cache", "tests"):
        assert required in entries, required
    assert "!.env.example" in entries


def test_no_secret_build_args_or_env(stages: list[Stage]) -> None:
    for stage in stages:
        for keyword, args in stage.instructions:
            if keyword in {"ARG", "ENV"}:
                assert not re.search(r"(TOKEN|API_KEY|PASSWORD|SECRET)", args), f"{keyword} {args}"
