"""Which agents a process runs: the worker (pipeline, and the fix consumer unless turned off) or the fixer."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamfix.runtime.app import create_app
from streamfix.runtime.settings import Settings


def agent_names(settings: Settings, role: str) -> set[str]:
    sf = create_app(settings, role=role)
    return {name.rsplit(".", 1)[-1] for name in sf.app.agents}


ALERTING = {"alerts", "alerts-fixes", "alert-delivery"}
CASES = [
    ("worker-with-fixer", "worker", True, {"ingest", "group", "fix-results", "fixer", *ALERTING}),
    ("worker-without-fixer", "worker", False, {"ingest", "group", "fix-results", *ALERTING}),
    ("dedicated-fixer", "fixer", False, {"fixer"}),
]


@pytest.mark.parametrize(("role", "in_worker", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_roles(tmp_path: Path, role: str, in_worker: bool, expected: set[str]) -> None:
    settings = Settings(app_id=f"roles-{role}-{in_worker}", data_dir=tmp_path, fixer_in_worker=in_worker)
    assert agent_names(settings, role) == expected


def test_fixer_is_its_own_consumer_group_but_reads_the_pipeline_tables(tmp_path: Path) -> None:
    sf = create_app(Settings(app_id="shop", data_dir=tmp_path), role="fixer")
    assert sf.app.conf.id == "shop-fixer"
    assert sf.views["fixes"].topic == "shop-fixes-changelog"
    assert sf.topic_name("fix_requests") == "streamfix.fix-requests"


def test_unknown_role_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown role"):
        create_app(Settings(data_dir=tmp_path), role="janitor")
