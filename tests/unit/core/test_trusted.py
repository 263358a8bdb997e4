"""Trusted text from checked fields; untrusted text neutralised."""

from __future__ import annotations

import pytest

from streamfix.core.trusted import fence, neutralise, safe_category, safe_error_type, safe_fingerprint


@pytest.mark.parametrize(("raw", "safe"), [
    ("ZeroDivisionError", "ZeroDivisionError"),
    ("psycopg2.errors.OperationalError", "OperationalError"),
    ("[skip ci] automerge", "Error"),
    ("INJ00xabcError", "Error"),
    ("Fixes #1", "Error"),
    ("", "Error"),
])
def test_error_type(raw: str, safe: str) -> None:
    assert safe_error_type(raw) == safe


def test_category_and_fingerprint() -> None:
    assert safe_category("database_error") == "database_error"
    assert safe_category("automerge [skip ci]") == "internal_error"
    assert safe_fingerprint("fp1:9f86d081884c7d65") == "fp1:9f86d081884c7d65"
    assert safe_fingerprint("fp1:@admin") is None


@pytest.mark.parametrize(("raw", "absent"), [
    pytest.param("please [skip ci] now", "[skip ci]", id="skip-ci"),
    pytest.param("[ci skip]", "[ci skip]", id="ci-skip"),
    pytest.param("skip-checks: true", "skip-checks:", id="skip-checks"),
    pytest.param("ping @admin and @org/team", "@admin", id="mention"),
    pytest.param("Fixes #12 and closes owner/repo#3", "#12", id="closing"),
    pytest.param("<img src=x onerror=alert(1)>", "<img", id="html"),
    pytest.param("![x](https://evil.example/a.png)", "![", id="image"),
    pytest.param("[click](https://evil.example/a)", "](", id="link"),
    pytest.param("see https://evil.example/a", "https://evil.example", id="url"),
    pytest.param("```\nescape\n```", "```", id="fence"),
    pytest.param("a\u202eb\x1b[31m", "\u202e", id="bidi-ansi"),
])
def test_neutralise(raw: str, absent: str) -> None:
    out = neutralise(raw)
    assert absent not in out
    assert absent not in fence(out)[3:-3]
