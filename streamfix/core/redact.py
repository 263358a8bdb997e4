"""Secret redaction: a table of named, compiled patterns and one pure function over text.

Everything streamfix sends out of the process (analysis prompts, pull request bodies, commit messages)
goes through :func:`redact` first. Rules are data: :data:`RULES` is an ordered table of
``(name, pattern)``; the first rules are specific (a provider's key format), the last ones generic
(assignments of ``password=...``, long high-entropy tokens). A match is replaced by
``[REDACTED:<name>]``; when a pattern has a group named ``secret`` only that group is replaced, so the
surrounding context (``password=``, the URL's user and host) stays readable.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    pattern: re.Pattern[str]


def _rule(name: str, pattern: str, flags: int = 0) -> Rule:
    return Rule(name, re.compile(pattern, flags))


_B = r"(?<![A-Za-z0-9_\-])"  # left boundary: not inside a longer token
_E = r"(?![A-Za-z0-9_\-])"  # right boundary

RULES: tuple[Rule, ...] = (
    _rule(
        "private_key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    ),
    _rule("anthropic_key", _B + r"sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{20,}" + _E),
    _rule(
        "openai_key",
        _B + r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}(?:T3BlbkFJ[A-Za-z0-9_\-]{20,})?" + _E,
    ),
    _rule("github_token", _B + r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})" + _E),
    _rule("gitlab_token", _B + r"glpat-[A-Za-z0-9_\-]{20,}" + _E),
    _rule("stripe_key", _B + r"(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}" + _E),
    _rule("stripe_webhook_secret", _B + r"whsec_[A-Za-z0-9+/=]{24,}" + _E),
    _rule(
        "aws_access_key_id", _B + r"(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}" + _E
    ),
    _rule(
        "aws_secret_access_key",
        r"(?i)(?:aws_?secret_?(?:access_?)?key|secret_?access_?key)[\"']?\s*[:=]\s*[\"']?(?P<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
    ),
    _rule("slack_token", _B + r"xox[abposr]-[A-Za-z0-9\-]{10,}" + _E),
    _rule("slack_webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]+"),
    _rule(
        "discord_webhook", r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_\-]+"
    ),
    _rule("google_api_key", _B + r"AIza[0-9A-Za-z_\-]{35}" + _E),
    _rule("google_oauth_secret", _B + r"GOCSPX-[A-Za-z0-9_\-]{20,}" + _E),
    _rule("google_oauth_token", _B + r"ya29\.[0-9A-Za-z_\-]{20,}" + _E),
    _rule("twilio_key", _B + r"(?:SK|AC)[0-9a-fA-F]{32}" + _E),
    _rule("sendgrid_key", _B + r"SG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}" + _E),
    _rule("mailgun_key", _B + r"key-[0-9a-f]{32}" + _E),
    _rule("mailchimp_key", _B + r"[0-9a-f]{32}-us\d{1,2}" + _E),
    _rule("npm_token", _B + r"npm_[A-Za-z0-9]{36}" + _E),
    _rule("pypi_token", _B + r"pypi-AgE[A-Za-z0-9_\-]{50,}" + _E),
    _rule("shopify_token", _B + r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}" + _E),
    _rule("square_token", _B + r"(?:EAAA|sq0atp-|sq0csp-)[A-Za-z0-9_\-]{22,}" + _E),
    _rule("digitalocean_token", _B + r"do[por]_v1_[a-f0-9]{64}" + _E),
    _rule("huggingface_token", _B + r"hf_[A-Za-z0-9]{30,}" + _E),
    _rule("telegram_bot_token", _B + r"\d{8,10}:AA[A-Za-z0-9_\-]{33}" + _E),
    _rule(
        "datadog_key",
        r"(?i)(?:dd|datadog)_?(?:api|app)_?key[\"']?\s*[:=]\s*[\"']?(?P<secret>[a-f0-9]{32,40})",
    ),
    _rule("jwt", _B + r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}" + _E),
    _rule("bearer_token", r"(?i)\b(?:bearer|token)\s+(?P<secret>[A-Za-z0-9_\-.~+/]{16,}=*)"),
    _rule("basic_auth_header", r"(?i)\bbasic\s+(?P<secret>[A-Za-z0-9+/]{12,}={0,2})"),
    _rule("url_password", r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s:/@\"']+:(?P<secret>[^\s@/\"']+)@"),
    _rule(
        "password_assignment",
        r"(?i)\b[\w.\-]*(?:password|passwd|pwd|secret|api[_\-]?key|access[_\-]?token|auth[_\-]?token|client[_\-]?secret|private[_\-]?key)[\"']?\s*[:=]\s*(?P<secret>\"[^\"\n]{3,}\"|'[^'\n]{3,}'|[^\s\"',;&}]{4,})",
    ),
    _rule("email", r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b"),
    _rule("high_entropy", _B + r"[A-Za-z0-9+_\-]{32,}={0,2}" + _E),
)

MIN_KNOWN_LENGTH = 6
"""Known secret values shorter than this are not removed on their own (too many false hits)."""

ENTROPY_MIN_BITS = 4.0
"""Shannon entropy (bits per character) above which a long mixed token counts as a secret. Hex digests
(fingerprints, commit SHAs) top out at 4.0 and so are kept."""


def shannon_entropy(token: str) -> float:
    if not token:
        return 0.0
    counts = Counter(token)
    n = len(token)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _looks_random(token: str) -> bool:
    core = token.rstrip("=")
    has_digit = any(ch.isdigit() for ch in core)
    has_alpha = any(ch.isalpha() for ch in core)
    return has_digit and has_alpha and shannon_entropy(core) > ENTROPY_MIN_BITS


def redact(
    text: str, rules: tuple[Rule, ...] = RULES, *, known: Iterable[str] = ()
) -> tuple[str, dict[str, int]]:
    """Return ``text`` with every secret replaced, and how many of each kind were replaced.

    ``known`` are literal secret values found earlier in the inputs (see :func:`find_secrets`); they are
    removed wherever they appear, even without the context that identified them the first time.
    """
    text, counts, _ = _apply(text, rules, known)
    return text, counts


def find_secrets(text: str, rules: tuple[Rule, ...] = RULES) -> set[str]:
    """The literal secret values the rules find in ``text`` (for later use as ``known``)."""
    return _apply(text, rules, ())[2]


def _apply(text: str, rules: tuple[Rule, ...], known: Iterable[str]) -> tuple[str, dict[str, int], set[str]]:
    counts: dict[str, int] = {}
    found: set[str] = set()
    for value in sorted({k for k in known if len(k) >= MIN_KNOWN_LENGTH}, key=len, reverse=True):
        hits = text.count(value)
        if hits:
            text = text.replace(value, "[REDACTED:known_secret]")
            counts["known_secret"] = counts.get("known_secret", 0) + hits
    for rule in rules:

        def substitute(match: re.Match[str], rule: Rule = rule) -> str:
            whole = match.group(0)
            if rule.name == "high_entropy" and not _looks_random(whole):
                return whole
            if "[REDACTED:" in whole and rule.name != "private_key":
                return whole
            counts[rule.name] = counts.get(rule.name, 0) + 1
            marker = f"[REDACTED:{rule.name}]"
            if "secret" in rule.pattern.groupindex and match.group("secret") is not None:
                start, end = match.span("secret")
                found.add(match.group("secret").strip("\"'"))
                offset = match.start(0)
                return whole[: start - offset] + marker + whole[end - offset :]
            found.add(whole)
            return marker

        text = rule.pattern.sub(substitute, text)
    return text, counts, found
