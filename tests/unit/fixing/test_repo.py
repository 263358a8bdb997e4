from __future__ import annotations

from pathlib import Path

import pytest

from streamfix.fixing.repo import gather_context, imports_of, map_path
from streamfix.kafka.wire import FrameRecord
from tests.unit.fixing.helpers import SampleRepo, frames_of, genuine_traceback

FILES = ["shop/pricing.py", "shop/reports.py", "src/shop/pricing.py", "tests/test_pricing.py", "pricing.py"]


@pytest.mark.parametrize(
    ("runtime", "expected"),
    [
        ("/app/src/shop/pricing.py", "src/shop/pricing.py"),
        ("/srv/app/shop/reports.py", "shop/reports.py"),
        ("/app/pricing.py", "pricing.py"),
        ("/usr/lib/python3.11/json/__init__.py", None),
        ("C:\\app\\shop\\reports.py", "shop/reports.py"),
        ("", None),
    ],
    ids=["longest-suffix", "prefix-stripped", "tie-shortest", "stdlib", "windows", "empty"],
)
def test_map_path(runtime: str, expected: str | None) -> None:
    assert map_path(runtime, FILES) == expected


def test_imports_of_python_file() -> None:
    source = '"""doc"""\nimport os\nfrom typing import (\n    Any,\n)\n\ndef f():\n    import sys\n'
    assert imports_of(source) == "import os\nfrom typing import (\n    Any,\n)"


def test_context_windows_of_a_genuine_traceback(sample_repo: SampleRepo) -> None:
    frames = frames_of(genuine_traceback(sample_repo.work))
    files = ["shop/__init__.py", "shop/main.py", "shop/pricing.py", "shop/reports.py"]
    windows = gather_context(sample_repo.work, frames, files, context_lines=3, max_chars=10_000)
    assert [w.path for w in windows] == ["shop/pricing.py", "shop/reports.py", "shop/main.py"]
    first = windows[0]
    assert first.focus == 14
    assert (first.start, first.end) == (11, 14)
    assert "   14 | " in first.text
    assert "return total / len(orders)" in first.text
    assert "from collections.abc import Sequence" in first.imports


def test_context_is_bounded(sample_repo: SampleRepo) -> None:
    frames = [FrameRecord(file="/app/shop/main.py", line=n, function="f") for n in (1, 20)]
    windows = gather_context(sample_repo.work, frames, ["shop/main.py"], context_lines=200, max_chars=1000)
    assert sum(len(w.text) + len(w.imports) for w in windows) <= 1000


def test_site_packages_frames_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "requests").mkdir()
    (tmp_path / "requests/api.py").write_text("x = 1\n")
    frames = [FrameRecord(file="/usr/lib/python3.11/site-packages/requests/api.py", line=1, function="get")]
    assert gather_context(tmp_path, frames, ["requests/api.py"], context_lines=5, max_chars=5000) == []
