"""Literal gates: a text without any of a pattern's required literals never matches it."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamfix.core.classify import DEFAULT_RULESET, classify, load_rules
from streamfix.core.literals import may_match, required_literals
from streamfix.core.models import ErrorEvent

GATES: list[tuple[str, tuple[str, ...] | None]] = [
    (r"connection refused", ("connection refused",)),
    (r"\b429\b|rate[ _-]?limit|too many requests", ("too many requests", "limit", "429")),
    (r"timed? ?out|deadline exceeded", ("deadline exceeded", "time")),  # "time" and "out": the longer
    (r"^(?:redis|aioredis)\.", ("aioredis", "redis")),  # the group's words, longer than "."
    (r"relation \S+ does not exist", (" does not exist",)),
    (r"(?:abc)+x", ("abc",)),
    (r"ERROR", ("error",)),  # lowercase: compared with the lowercased text
    (r"a|", None),  # the empty alternative matches anywhere
    (r"x?y*", None),  # nothing required
    (r"[0-9]+", None),  # a class, not a literal
    (r"\u212aelvin|kelvin", None),  # the Kelvin sign matches "k" without IGNORECASE's ASCII rule: no gate
    (r"(?=abc)", None),  # lookahead: not read, so no gate
]


@pytest.mark.parametrize(("pattern", "gate"), GATES, ids=[p for p, _ in GATES])
def test_required_literals(pattern: str, gate: tuple[str, ...] | None) -> None:
    assert required_literals(re.compile(pattern, re.IGNORECASE)) == gate


MAY_MATCH: list[tuple[tuple[str, ...] | None, str, bool]] = [
    (("connection refused",), "Error 111: Connection Refused.", True),
    (("connection refused",), "Error 111: connection reset", False),
    (None, "anything", True),
    (("kelvin",), "\u212aelvin", True),  # not ASCII: the search decides
]


@pytest.mark.parametrize(("gate", "text", "expected"), MAY_MATCH)
def test_may_match(gate: tuple[str, ...] | None, text: str, expected: bool) -> None:
    assert may_match(gate, text) is expected


PATTERNS = [pattern for rule in DEFAULT_RULESET.rules for _, pattern in rule.matchers]
WORDS = ["connection", "refused", "Timed", "out", "429", "rate-limit", "Redis", "relation", "does not exist",
         "deadline exceeded", "quota", "Unauthorized", "\u212a", "\u017f", " ", ".", ":6379", "error"]


@settings(derandomize=True, max_examples=400, deadline=None)
@given(st.sampled_from(PATTERNS),
       st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=6)), max_size=8))
def test_a_gate_never_hides_a_match(pattern: re.Pattern[str], parts: list[str]) -> None:
    text = "".join(parts)
    if not may_match(required_literals(pattern), text):
        assert pattern.search(text) is None


def _ungated(rules: object) -> object:
    return dataclasses.replace(rules, rules=tuple(dataclasses.replace(r, gates=()) for r in rules.rules))  # type: ignore[attr-defined]


EVENTS = [
    ErrorEvent(error_type=t, message=m, line_start=0, line_end=0)
    for t, m in [
        ("redis.ConnectionError", "Error 111 connecting to 10.0.0.1:6379. Connection refused." * 2),
        ("RuntimeError", "upstream 503 from https://api.partner.example/v2/items/58 after 22818ms"),
        ("ValueError", "validation error for Order: field required (type=value_error.missing) at items.0"),
        ("Exception", "You exceeded your current quota, please check your plan and billing details."),
        ("KeyError", "'user-42' was not found in the cache of the session store, after three attempts"),
        ("psycopg2.OperationalError", "FATAL:  remaining connection slots are reserved for superuser roles"),
        ("Exception", "\u212aubernetes said: Connection Timed Out while waiting for the pod to be ready."),
    ]
]


def test_gates_change_no_classification() -> None:
    plain = _ungated(DEFAULT_RULESET)
    for event in EVENTS:
        assert classify(event) == classify(event, rules=plain)  # type: ignore[arg-type]
    user = load_rules({"version": "1", "rules": [
        {"name": "quota", "message": r"current\s+quota", "category": "rate_limit_error"},
    ]})
    for event in EVENTS:
        assert classify(event, user) == classify(event, _ungated(user))  # type: ignore[arg-type]


def test_every_default_message_rule_has_a_gate() -> None:
    gates = [gate for rule in DEFAULT_RULESET.rules
             for (key, _), gate in zip(rule.matchers, rule.gates, strict=True) if key == "message"]
    assert gates and all(gate is not None for gate in gates)
    assert not may_match(gates[0], "a message of more than forty characters that names nothing known")
