"""docs/deploy.md names files that exist and settings that exist."""

from __future__ import annotations

import re

from streamfix.runtime.settings import Settings
from tests.deploy.helpers import REPO_ROOT

DOC = REPO_ROOT / "docs" / "deploy.md"


def test_every_repository_path_in_the_guide_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    paths = set(re.findall(r"`((?:deploy|tests/deploy|scripts)/[^`\s]*)`", text))
    assert paths
    missing = sorted(p for p in paths if not (REPO_ROOT / p.rstrip("/")).exists())
    assert missing == []


def test_every_streamfix_variable_in_the_guide_is_a_setting() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    text = DOC.read_text(encoding="utf-8")
    names = set(re.findall(r"\bSTREAMFIX_([A-Z0-9_]+)\b", text)) - {"VARIANT"}
    unknown = sorted(name for name in names if name not in fields)
    assert unknown == []


def test_the_guide_covers_the_topics_the_issue_asks_for() -> None:
    text = DOC.read_text(encoding="utf-8")
    for heading in ("## Docker Compose", "## Kubernetes", "## Running streamfix itself on Railway",
                    "## Scaling: partitions versus replicas", "## Upgrades", "## Local use"):
        assert heading in text, heading
    assert "replicas get no partitions and sit idle" in text
    assert "roll consumers before producers" in text
