"""Classification: category, severity, fixability and a suggested fix for an error event.

Rules are data (:mod:`streamfix.core.rules.default`): an ordered, versioned table of named patterns.
A user rules file is checked first, in the spirit of Sentry's fingerprint rules. Its TOML form::

    version = "acme-3"

    [[rules]]
    name = "card-declined"
    type = 'stripe\\..*CardError'       # regexes, searched case-insensitively; all given must match
    message = "declined"
    # logger, level, service, path (any frame's file), module (the exception's module) and library
    # (the library modules under the application's innermost frame, one per line, the one it called
    # first) are matchers too: library = '^redis' matches errors raised inside redis-py
    category = "validation_error"
    severity = "LOW"
    fixable = false
    title = "Card declined"
    fingerprint = ["{{ type }}", "card-declined"]   # or one string; {{ default }} is the usual one

A user rule may set only some fields (just ``fingerprint`` or ``title``, say); the rest come from the
default table. The caller parses the file (``tomllib``) or passes its text; the core does no I/O.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from streamfix.core.literals import Gate, may_match, required_literals
from streamfix.core.models import Category, ErrorEvent, Frame, Severity
from streamfix.core.rules.default import (
    DEFAULT_FIXABLE_CATEGORIES,
    DEFAULT_RULES,
    RULES_VERSION,
    SUGGESTED_FIXES,
)

GATE_MIN_CHARS = 40
"""Fields at least this long are checked for a rule's literals (:mod:`streamfix.core.literals`) before
its search; on shorter ones (error types) the search is about as fast as the check."""
MATCH_FIELDS: tuple[str, ...] = ("type", "message", "logger", "level", "service", "path", "module", "library")
_NODE_PACKAGE = re.compile(r"/node_modules/((?:@[^/]+/)?[^/]+)/")
_LIBRARY_PATHS = ("/site-packages/", "/dist-packages/", "/node_modules/")
_SEVERITY_ORDER = (Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)
DEFAULT_SEVERITY: dict[Category, Severity] = {
    Category.PROVIDER: Severity.HIGH,
    Category.DATABASE: Severity.HIGH,
    Category.RATE_LIMIT: Severity.MEDIUM,
    Category.TIMEOUT: Severity.MEDIUM,
    Category.AUTH: Severity.CRITICAL,
    Category.VALIDATION: Severity.LOW,
    Category.CACHE: Severity.LOW,
    Category.EXTERNAL_SERVICE: Severity.MEDIUM,
    Category.INTERNAL: Severity.HIGH,
}
_TEMPLATE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


class RulesError(ValueError):
    """A rules file or table is malformed: a bad regex, an unknown category or severity."""


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    matchers: tuple[tuple[str, re.Pattern[str]], ...]
    category: Category | None = None
    severity: Severity | None = None
    fixable: bool | None = None
    suggested_fix: str | None = None
    fingerprint: tuple[str, ...] | None = None
    title: str | None = None

    gates: tuple[Gate | None, ...] = ()
    """One per matcher (:func:`~streamfix.core.literals.required_literals`): words the field must contain
    for the pattern to match, checked before the search; empty means no gates."""

    def matches(self, fields: Mapping[str, str], lowered: dict[str, str] | None = None) -> bool:
        """Whether every matcher finds its pattern in its field (``lowered``: a cache of lowercased fields)."""
        gates = self.gates or (None,) * len(self.matchers)
        lowered = {} if lowered is None else lowered
        for (key, pattern), gate in zip(self.matchers, gates, strict=True):
            text = fields.get(key, "")
            if gate is not None and len(text) >= GATE_MIN_CHARS:
                if key not in lowered:
                    lowered[key] = text.lower()
                if not may_match(gate, text, lowered[key]):
                    return False
            if pattern.search(text) is None:
                return False
        return True


@dataclass(frozen=True, slots=True)
class RuleSet:
    version: str
    rules: tuple[Rule, ...]

    def first(self, fields: Mapping[str, str]) -> Rule | None:
        lowered: dict[str, str] = {}  # each field lowercased once for all the rules' gates
        for rule in self.rules:
            if rule.matches(fields, lowered):
                return rule
        return None


def _enum(kind: type[Category] | type[Severity], value: Any, rule: str) -> Any:
    if value is None:
        return None
    try:
        return kind(str(value)) if kind is Category else kind(str(value).upper())
    except ValueError:
        raise RulesError(f"rule {rule!r}: unknown {kind.__name__.lower()} {value!r}") from None


def _compile_rule(data: Mapping[str, Any], position: int) -> Rule:
    name = str(data.get("name") or f"rule-{position}")
    match = data.get("match")
    source: Mapping[str, Any] = match if isinstance(match, Mapping) else data
    matchers: list[tuple[str, re.Pattern[str]]] = []
    for key in MATCH_FIELDS:
        value = source.get(key)
        if value is None:
            continue
        try:
            matchers.append((key, re.compile(str(value), re.IGNORECASE)))
        except re.error as exc:
            raise RulesError(f"rule {name!r}: bad {key} pattern {value!r}: {exc}") from None
    if not matchers:
        raise RulesError(f"rule {name!r} has no matcher (one of {', '.join(MATCH_FIELDS)})")
    fingerprint = data.get("fingerprint")
    fixable = data.get("fixable")
    return Rule(
        name=name,
        matchers=tuple(matchers),
        gates=tuple(required_literals(pattern) for _, pattern in matchers),
        category=_enum(Category, data.get("category"), name),
        severity=_enum(Severity, data.get("severity"), name),
        fixable=None if fixable is None else bool(fixable),
        suggested_fix=None if data.get("suggested_fix") is None else str(data["suggested_fix"]),
        fingerprint=(fingerprint,) if isinstance(fingerprint, str) else None if fingerprint is None else tuple(map(str, fingerprint)),
        title=None if data.get("title") is None else str(data["title"]),
    )


def load_rules(source: str | Mapping[str, Any]) -> RuleSet:
    """Compile user rules from TOML text or an already parsed mapping (``{"version":..., "rules": [...]}``)."""
    if isinstance(source, str):
        try:
            source = tomllib.loads(source)
        except tomllib.TOMLDecodeError as exc:
            raise RulesError(f"rules file is not valid TOML: {exc}") from None
    rules = source.get("rules", [])
    if not isinstance(rules, list):
        raise RulesError("'rules' must be an array of tables")
    return RuleSet(str(source.get("version", "user")), tuple(_compile_rule(r, i) for i, r in enumerate(rules)))


DEFAULT_RULESET = RuleSet(
    RULES_VERSION,
    tuple(
        _compile_rule({"name": name, "category": category, "severity": severity, **matchers}, i)
        for i, (name, category, severity, matchers) in enumerate(DEFAULT_RULES)
    ),
)


def library_frames(frames: tuple[Frame, ...]) -> list[str]:
    """The libraries under the application's innermost frame, the one it called first.

    Each entry is a frame's dotted Python module (``redis.connection``) or Node.js package
    (``@prisma/client``); only library frames count (site-packages, dist-packages, node_modules), not
    the standard library. With no application frame at all, every library frame counts.
    """
    start = 0
    for position in range(len(frames) - 1, -1, -1):
        if frames[position].in_app:
            start = position + 1
            break
    names: list[str] = []
    for frame in frames[start:]:
        if not any(marker in frame.file for marker in _LIBRARY_PATHS):
            continue
        if frame.module:
            name = frame.module
        elif node := _NODE_PACKAGE.search(frame.file):
            name = node.group(1)
        else:
            continue
        if not names or names[-1] != name:
            names.append(name)
    return names


def _fields(event: ErrorEvent, error_type: str | None = None) -> dict[str, str]:
    message = event.message if event.log_message is None else f"{event.message}\n{event.log_message}"
    kind = event.error_type if error_type is None else error_type
    return {
        "module": kind.rsplit(".", 1)[0] if "." in kind else "",
        "library": "\n".join(library_frames(event.frames)) if error_type is None and event.frames
        and not event.frames[-1].in_app else "",
        "type": event.error_type if error_type is None else error_type,
        "message": message if error_type is None else "",
        "logger": event.logger or "",
        "level": event.level or "",
        "service": event.service or "",
        "path": "\n".join(f.file for f in event.frames) if event.frames else event.file or "",
    }


def _shift(severity: Severity, steps: int) -> Severity:
    position = min(max(_SEVERITY_ORDER.index(severity) + steps, 0), len(_SEVERITY_ORDER) - 1)
    return _SEVERITY_ORDER[position]


def _default_match(event: ErrorEvent, rules: RuleSet) -> tuple[Rule | None, str]:
    rule = rules.first(_fields(event))
    if rule is None or rule.category is Category.INTERNAL:
        # An application error wrapping a timeout, a database error... is that kind of error. A bug
        # in an error handler (validation failed, then the fallback crashed) stays internal.
        for chained in reversed(event.chained):
            cause = rules.first(_fields(event, chained))
            if cause is not None and cause.category not in (Category.INTERNAL, Category.VALIDATION):
                return cause, f"{cause.name} (chained {chained})"
    return rule, rule.name if rule else "fallback"


def check_categories(names: Iterable[str]) -> frozenset[str]:
    """``names`` as a set of category names; :class:`RulesError` names any unknown one."""
    known = {c.value for c in Category}
    chosen = frozenset(name.strip().lower() for name in names if name.strip())
    unknown = sorted(chosen - known)
    if unknown:
        raise RulesError(f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)} "
                         f"(known: {', '.join(c.value for c in Category)})")
    return chosen


def classify(
    event: ErrorEvent,
    user_rules: RuleSet | None = None,
    rules: RuleSet = DEFAULT_RULESET,
    fixable_categories: frozenset[str] = DEFAULT_FIXABLE_CATEGORIES,
) -> ErrorEvent:
    """Return ``event`` with category, severity, fixable, suggested_fix, title and rule filled in.

    An event is fixable when its category is in ``fixable_categories`` (by default the ones
    :data:`~streamfix.core.rules.default.SUGGESTED_FIXES` marks fixable), unless a user rule sets
    ``fixable`` itself."""
    user = user_rules.first(_fields(event)) if user_rules else None
    default, rule_name = _default_match(event, rules)
    category = (user.category if user and user.category else None) or (default.category if default else None)
    category = category or Category.INTERNAL
    if user and user.severity:
        severity = user.severity
    else:
        if user and user.category:
            severity = DEFAULT_SEVERITY[category]
        else:
            severity = (default.severity if default else None) or DEFAULT_SEVERITY[category]
        if event.level == "CRITICAL":
            severity = Severity.CRITICAL
        elif event.level == "WARNING":
            severity = _shift(severity, -1)
    fix = SUGGESTED_FIXES[category.value][1]
    fixable = category.value in fixable_categories
    if user and user.fixable is not None:
        fixable = user.fixable
    if user and user.suggested_fix:
        fix = user.suggested_fix
    title = user.title if user and user.title else default_title(event)
    name = f"user:{user.name}" if user else f"{rules.version}:{rule_name}"
    return replace(
        event, category=category, severity=severity, fixable=fixable, suggested_fix=fix, title=title, rule=name
    )


def default_title(event: ErrorEvent) -> str:
    first = event.message.splitlines()[0] if event.message else ""
    title = f"{event.error_type}: {first}" if first else event.error_type
    if event.function:
        title += f" in {event.function}"
    return title[:200]


def custom_fingerprint(event: ErrorEvent, user_rules: RuleSet | None, default: str) -> str | None:
    """The fingerprint set by the first matching user rule, rendered, or None when no rule sets one."""
    if user_rules is None:
        return None
    rule = user_rules.first(_fields(event))
    if rule is None or rule.fingerprint is None:
        return None
    values = {
        "default": default,
        "type": event.error_type,
        "message": event.message,
        "function": event.function or "",
        "file": event.file or "",
        "service": event.service or "",
        "logger": event.logger or "",
        "level": event.level or "",
    }
    rendered = "\x1f".join(_TEMPLATE.sub(lambda m: values.get(m.group(1), m.group(0)), part) for part in rule.fingerprint)
    digest = hashlib.blake2b(rendered.encode(), digest_size=16).hexdigest()
    return f"fp1:rule:{digest}"
