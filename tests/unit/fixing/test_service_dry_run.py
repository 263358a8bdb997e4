"""`--dry-run` never raises out of the service: an adapter bug becomes a fix_invalid result."""

from __future__ import annotations

from pathlib import Path

from streamfix.fixing.claude import Analysis
from streamfix.fixing.service import FixService
from tests.unit.fixing.helpers import Recorder, fix_settings, make_request

TRACEBACK = 'Traceback (most recent call last):\n  File "/app/shop/pricing.py", line 14, in f\nZeroDivisionError: x'


class BrokenAnalyzer:
    """An analyzer whose answer handling has a bug (not a Claude failure)."""

    async def analyze(self, prompt: str) -> Analysis:
        raise RuntimeError("bug in the analyzer")


async def test_dry_run_turns_an_internal_error_into_fix_invalid(tmp_path: Path) -> None:
    recorder = Recorder()
    service = FixService(fix_settings(tmp_path, tmp_path / "remote.git"), publish=recorder.publish,
                         analyzer=BrokenAnalyzer())
    result = await service.handle(make_request(TRACEBACK, dry_run=True))
    assert result.status == "fix_invalid"
    assert result.error == "internal error: RuntimeError"
    assert recorder.statuses[-1] == "fix_invalid"
