"""deploy/systemd/streamfix-railway-watch.service: `systemd-analyze verify` and `security` when
systemd-analyze is present, and a structural check of the unit in every case."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.helpers import SYSTEMD_UNIT, loud_skip

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
EXEC = "/opt/streamfix/bin/streamfix"


def read_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections → key → values (systemd allows repeated keys, configparser does not by itself)."""
    unit: dict[str, dict[str, list[str]]] = {}
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            unit.setdefault(section, {})
            continue
        assert section is not None, f"{line!r} before any section"
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {line!r}"
        unit[section].setdefault(key.strip(), []).append(value.strip())
    return unit


@pytest.fixture(scope="module")
def unit() -> dict[str, dict[str, list[str]]]:
    return read_unit(SYSTEMD_UNIT.read_text(encoding="utf-8"))


def test_configparser_reads_it() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(SYSTEMD_UNIT.read_text(encoding="utf-8"))
    assert parser.sections() == ["Unit", "Service", "Install"]


def test_runs_the_documented_command(unit: dict[str, dict[str, list[str]]]) -> None:
    service = unit["Service"]
    assert service["ExecStart"] == [f"{EXEC} watch railway --auto-fix"]
    assert service["Restart"] == ["always"]
    assert service["EnvironmentFile"] and service["EnvironmentFile"][0].endswith(".env")
    assert service["User"] != ["root"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    assert "network-online.target" in unit["Unit"]["After"][0]


def test_hardening_options(unit: dict[str, dict[str, list[str]]]) -> None:
    service = unit["Service"]
    expected = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "RestrictSUIDSGID": "yes",
        "LockPersonality": "yes",
    }
    for key, value in expected.items():
        assert service.get(key) == [value], key
    assert service["CapabilityBoundingSet"] == [""]


def _verifiable_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointed at an executable that exists here (verify checks it)."""
    executable = tmp_path / "streamfix"
    executable.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    executable.chmod(0o755)
    text = SYSTEMD_UNIT.read_text(encoding="utf-8").replace(f"ExecStart={EXEC}", f"ExecStart={executable}")
    copy = tmp_path / SYSTEMD_UNIT.name
    copy.write_text(text, encoding="utf-8")
    return copy


@pytest.fixture(scope="module")
def systemd_analyze() -> str:
    if SYSTEMD_ANALYZE is None:
        loud_skip("SYSTEMD-ANALYZE NOT FOUND: the unit was NOT verified (structural checks only).")
    return SYSTEMD_ANALYZE


def test_systemd_analyze_verify(systemd_analyze: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [systemd_analyze, "verify", str(_verifiable_copy(tmp_path))],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Unknown" not in result.stderr, result.stderr


def test_systemd_analyze_security_exposure(systemd_analyze: str, tmp_path: Path) -> None:
    result = subprocess.run(
        # --threshold is in tenths of the exposure level: 30 fails anything above 3.0 ("OK" is below 4).
        [systemd_analyze, "security", "--offline=yes", "--threshold=30", "--no-pager",
         str(_verifiable_copy(tmp_path))],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Overall exposure level" in result.stdout
