"""The vendored schemas are the files their README describes (SHA-256 listed there)."""

from __future__ import annotations

import hashlib
import re

from tests.deploy.helpers import SCHEMAS


def test_vendored_schemas_match_their_recorded_hashes() -> None:
    readme = (SCHEMAS / "README.md").read_text(encoding="utf-8")
    recorded = {name: digest for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+\.json)$", readme, re.M)}
    on_disk = {path.name for path in SCHEMAS.glob("*.json")}
    assert set(recorded) == on_disk
    for name, digest in recorded.items():
        assert hashlib.sha256((SCHEMAS / name).read_bytes()).hexdigest() == digest, name
