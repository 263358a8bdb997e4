""".env.example: every name is one streamfix, the compose file or the Railway CLI reads, and no
secret has a value."""

from __future__ import annotations

import re

from streamfix.runtime.settings import Settings
from tests.deploy.helpers import COMPOSE_FILE, ENV_EXAMPLE

BARE_NAMES = {
    "ANTHROPIC_API_KEY", "GITHUB_TOKEN", "LOKI_ENABLED", "LOKI_PUSH_URL", "ERROR_MONITORING_ENABLED",
    "AUTO_FIX_ENABLED",
}
RAILWAY_NAMES = {"RAILWAY_TOKEN", "RAILWAY_SERVICE"}
SECRET_WORDS = ("TOKEN", "API_KEY", "PASSWORD")


def entries(*, include_commented: bool) -> dict[str, str]:
    pattern = r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$" if include_commented else r"^([A-Z][A-Z0-9_]*)=(.*)$"
    found = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.match(pattern, line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def compose_variables() -> set[str]:
    text = COMPOSE_FILE.read_text(encoding="utf-8").replace("$$", "")
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))


def test_every_name_is_read_by_something() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    unknown = []
    for name in entries(include_commented=True):
        if name.startswith("STREAMFIX_") and name.removeprefix("STREAMFIX_") in fields:
            continue
        if name in BARE_NAMES | RAILWAY_NAMES or name in compose_variables():
            continue
        unknown.append(name)
    assert unknown == []


def test_every_compose_variable_is_documented() -> None:
    documented = set(entries(include_commented=True))
    undocumented = compose_variables() - documented
    assert undocumented == set()


def test_secrets_are_empty() -> None:
    for name, value in entries(include_commented=True).items():
        if any(word in name for word in SECRET_WORDS):
            assert value == "", f"{name} has a value in .env.example"
