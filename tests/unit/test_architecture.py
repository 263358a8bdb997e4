"""The structure rules of docs/architecture.md, checked: import contracts, thin agents, one Kafka adapter."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_HANDLER_LINES = 40


def test_import_contracts_hold() -> None:
    """core is pure, web never imports agents, layers point down, no cycles (pyproject [tool.importlinter])."""  # noqa: E501
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_core_contract_names_every_other_package() -> None:
    """A new package is forbidden to core without anyone remembering to add it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "core-is-pure")
    packages = {f"streamfix.{p.parent.name}" for p in (ROOT / "streamfix").glob("*/__init__.py")}
    modules = {
        f"streamfix.{p.stem}" for p in (ROOT / "streamfix").glob("*.py") if not p.stem.startswith("__")
    }
    assert set(contract["forbidden_modules"]) == (packages | modules | {"agents"}) - {"streamfix.core"}


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]


AGENT_FILES = sorted((ROOT / "agents").glob("*.py"))


@pytest.mark.parametrize("path", AGENT_FILES, ids=[p.stem for p in AGENT_FILES])
def test_agent_handlers_are_thin(path: Path) -> None:
    """Every function of an agent module (register, the agents, timers) fits in 40 lines."""
    for function in _functions(ast.parse(path.read_text(encoding="utf-8"))):
        body = (function.end_lineno or function.lineno) - function.body[0].lineno + 1
        assert body <= MAX_HANDLER_LINES, f"{path.name}:{function.lineno} {function.name} has {body} lines"


CONSTRUCTION = re.compile(r"\bAIOKafka(?:Producer|Consumer|AdminClient)\s*\(")


def test_aiokafka_clients_are_built_in_one_module() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("streamfix", "agents", "benchmarks", "scripts")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if CONSTRUCTION.search(line)
    ]
    assert found and all(site.startswith("streamfix/kafka/clients.py:") for site in found), found


def test_no_module_is_loaded_by_name() -> None:
    """Wiring is explicit: nothing of the project is imported from a string, outside the CLI's lazy command
    table; the redaction walks detect-secrets' own plugin package (a third-party library, not our wiring)."""
    loaders = [
        str(path.relative_to(ROOT))
        for folder in ("streamfix", "agents")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "import_module(" in path.read_text(encoding="utf-8")
    ]
    assert loaders == ["streamfix/cli/__init__.py", "streamfix/runtime/redaction.py"]
    redaction = (ROOT / "streamfix/runtime/redaction.py").read_text(encoding="utf-8")
    assert redaction.count("import_module(") == 1 and 'import_module(f"detect_secrets.plugins.' in redaction


def test_the_architecture_guide_names_files_that_exist() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:streamfix|agents)/[\w/]+\.py)`", text))
    short = set(re.findall(r"`((?:services|sources|kafka|core|runtime|fixing)/\w+\.py)", text))
    assert named and short
    missing = [p for p in named if not (ROOT / p).exists()]
    missing += [p for p in short if not (ROOT / "streamfix" / p).exists()]
    assert missing == []
