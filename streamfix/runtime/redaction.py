"""Redaction at the process edge: :func:`streamfix.core.redact.redact` with the detectors of Yelp's
``detect-secrets`` added, plus the REDACTIONS metric.

Call :func:`scrub` on every string that leaves the process (prompts, commit messages, PR bodies, fix
results, API answers), and :func:`scrub_code` on source text a model wrote. The rule set is built once:
streamfix's own table (:data:`streamfix.core.redact.RULES`), then the regular-expression detectors that
``detect-secrets`` maintains (AWS, Azure storage, Artifactory, Cloudant, IBM, SoftLayer, Square, ...),
except the ones that are not about secrets (public IP addresses) or that the table already does better
(keywords, entropy, private keys, basic auth).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import pkgutil
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from streamfix.core.models import ErrorEvent
from streamfix.core.redact import CODE_RULES, RULES, TRIGGERS, Rule, find_secrets, redact
from streamfix.core.untrusted import redact_bare, redact_event
from streamfix.runtime.metrics import REDACTIONS
from streamfix.runtime.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["all_rules", "code_rules", "find_secrets", "scrub", "scrub_code", "scrub_tree"]

_SKIPPED_DETECTORS = frozenset(
    {"IPPublicDetector", "KeywordDetector", "PrivateKeyDetector", "BasicAuthDetector"}
)
_KEYWORDS = ("key", "pw", "pass", "token", "secret")
_KEYWORD_ASSIGNMENT = "(?:=|:|:=|=>| +|::)"  # detect-secrets' template of keyword-assignment patterns
# Lowercase substrings without which a detector cannot match (see streamfix.core.redact.TRIGGERS).
_DETECTOR_TRIGGERS: dict[str, tuple[str, ...]] = {
    "ArtifactoryDetector": ("!AKC", "!AP"),
    "AWSKeyDetector": ("akia", "asia", "abia", "acca", "a3t", "aws"),
    "AzureStorageKeyDetector": ("accountkey",),
    "CloudantDetector": (*_KEYWORDS, "cloudant"),
    "DiscordBotTokenDetector": (".",),
    "GitHubTokenDetector": ("gh",),
    "GitLabTokenDetector": ("gl", "gr1348941"),
    "IbmCloudIamDetector": _KEYWORDS,
    "IbmCosHmacDetector": ("secret",),
    "JwtTokenDetector": ("eyj",),
    "MailchimpDetector": ("-us",),
    "NpmDetector": ("_authtoken",),
    "OpenAIDetector": ("t3blbkfj",),
    "PypiTokenDetector": ("pypi-",),
    "SendGridDetector": ("sg.",),
    "SlackDetector": ("xox", "hooks.slack"),
    "SoftlayerDetector": (*_KEYWORDS, "softlayer"),
    "SquareOAuthDetector": ("sq0",),
    "StripeDetector": ("k_live_",),
    "TelegramBotTokenDetector": (":aa", ":ab", ":ac", ":ad", ":ae", ":af", ":ag", ":ah"),
    "TwilioKeyDetector": ("ac", "sk"),
}


def detect_secrets_rules() -> tuple[Rule, ...]:
    """The regex denylists of every ``detect-secrets`` RegexBasedDetector plugin, as rules.

    A pattern with a capturing group redacts only the group (the credential inside its context).
    """
    import detect_secrets.plugins as plugins
    from detect_secrets.plugins.base import RegexBasedDetector

    rules: list[Rule] = []
    for info in pkgutil.iter_modules(plugins.__path__):
        module = importlib.import_module(f"detect_secrets.plugins.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                not issubclass(cls, RegexBasedDetector)
                or cls is RegexBasedDetector
                or cls.__module__ != module.__name__
                or name in _SKIPPED_DETECTORS
            ):
                continue
            label = "ds_" + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.removesuffix("Detector")).lower()
            if name in _DETECTOR_TRIGGERS:
                TRIGGERS.setdefault(label, _DETECTOR_TRIGGERS[name])
            denylist: Iterable[Any] = getattr(cls, "denylist")  # noqa: B009 - a class attribute here
            for pattern in denylist:
                compiled = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
                if _KEYWORD_ASSIGNMENT in compiled.pattern:
                    continue  # keyword=value: the secret_assignment rule covers it, without exemptions
                if compiled.groups >= 1 and "secret" not in compiled.groupindex:
                    source = _name_first_group(compiled.pattern)
                    compiled = re.compile(source, compiled.flags) if source else compiled
                rules.append(Rule(label, compiled))
    return tuple(rules)


def _name_first_group(source: str) -> str | None:
    """``source`` with its first capturing group named ``secret`` (None if there is none to name)."""
    i = 0
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":  # skip a character class
            j = i + 1
            if j < len(source) and source[j] == "^":
                j += 1
            if j < len(source) and source[j] == "]":
                j += 1
            while j < len(source) and source[j] != "]":
                j += 2 if source[j] == "\\" else 1
            i = j + 1
            continue
        if ch == "(" and not source.startswith("(?", i):
            return source[: i + 1] + "?P<secret>" + source[i + 1 :]
        i += 1
    return None


@functools.cache
def all_rules() -> tuple[Rule, ...]:
    """streamfix's rules with the ``detect-secrets`` detectors before the generic entropy rule."""
    own = list(RULES)
    return (*own[:-1], *detect_secrets_rules(), own[-1])


@functools.cache
def code_rules() -> tuple[Rule, ...]:
    own = list(CODE_RULES)
    return (*own[:-1], *detect_secrets_rules(), own[-1])


def _count(where: str, counts: Mapping[str, int]) -> None:
    for kind, n in counts.items():
        REDACTIONS.labels(kind=kind).inc(n)
    if counts:
        log.info("redacted secrets", extra={"where": where, "redactions": dict(counts)})


def scrub(text: str, *, where: str = "", known: Iterable[str] = (), model: bool = False) -> str:
    """Redact ``text`` (and the ``known`` secret values), count removals by kind, log only the counts.

    ``model`` marks text a model wrote: lone credential-shaped tokens go too (see
    :func:`streamfix.core.redact.redact_bare`)."""
    cleaned, counts = redact(text, all_rules(), known=known)
    if model:
        cleaned, bare = redact_bare(cleaned)
        if bare:
            counts["bare_secret"] = bare
    _count(where, counts)
    return cleaned


@functools.lru_cache(maxsize=65536)
def _redacted(text: str) -> tuple[str, tuple[tuple[str, int], ...]]:
    """``text`` redacted with every rule, and what was removed (remembered: texts repeat)."""
    cleaned, counts = redact(text, all_rules())
    return cleaned, tuple(counts.items())


def scrub_repeated(text: str, *, where: str) -> str:
    """:func:`scrub` for texts that come again and again (an alert state's error type, title and message
    on every occurrence of its pattern): results are remembered (:func:`_redacted`). Every
    call counts its removals, as :func:`scrub` does."""
    cleaned, counts = _redacted(text)
    _count(where, dict(counts))
    return cleaned


def scrub_code(text: str, *, where: str = "edit", known: Iterable[str] = ()) -> str:
    """Redact source code a model wrote: like :func:`scrub`, but assignments count only with
    string-literal values, and lone credential-shaped tokens only inside string literals and comments."""
    cleaned, counts = redact(text, code_rules(), known=known)
    cleaned, bare = redact_bare(cleaned, code=True)
    if bare:
        counts["bare_secret"] = bare
    _count(where, counts)
    return cleaned


_IDENTIFIERS = frozenset({"fingerprint", "fix_id", "request_id", "pr_url", "branch", "commit_sha", "status"})


def scrub_tree(value: Any) -> Any:
    """Every string inside ``value`` (dicts, lists, tuples) redacted, for answers to readers. Strings
    repeat between answers (tables are scrubbed at ingest, so most are clean), so results are cached.
    Identifiers (fingerprints, fix ids, URLs streamfix made) are left as they are."""
    if isinstance(value, str):
        return _redacted(value)[0] if value else value
    if isinstance(value, Mapping):
        return {k: v if k in _IDENTIFIERS else scrub_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_tree(v) for v in value]
    return value


@functools.cache
def event_scrubber() -> Callable[[ErrorEvent], ErrorEvent]:
    """The ingest scrubber: :func:`redact_event` with a cached redactor (frames and messages repeat).

    The texts of an event that are not in the cache are first checked together in one pass; only when
    that pass finds something is each text redacted on its own. Most events have no secret, so most
    cost one pass.
    """
    rules = all_rules()
    cache: dict[str, str] = {}

    def clean(text: str) -> str:
        hit = cache.get(text)
        if hit is not None:
            return hit
        cleaned = redact(text, rules)[0] if text else text
        if len(cache) >= 16384:
            cache.clear()
        cache[text] = cleaned
        return cleaned

    def scrub_event(event: ErrorEvent) -> ErrorEvent:
        texts = [t for t in _event_texts(event) if t and t not in cache]
        if texts:
            joined = "\n\x00\n".join(texts)
            if redact(joined, rules)[0] == joined:
                if len(cache) + len(texts) >= 16384:
                    cache.clear()
                cache.update((t, t) for t in texts)
                return event
        return redact_event(event, clean)

    return scrub_event


def ingest_scrubber(settings: Settings) -> Callable[[ErrorEvent], ErrorEvent] | None:
    """The scrubber the pipeline applies to every error event before it is classified, stored or sent,
    or None when ``scrub_at_ingest`` is off."""
    return event_scrubber() if settings.scrub_at_ingest else None


def _event_texts(event: ErrorEvent) -> list[str]:
    texts = [
        event.message,
        event.title,
        event.suggested_fix,
        event.log_message or "",
        event.file or "",
        event.function or "",
        *event.chained,
    ]
    for frame in event.frames:
        texts += [frame.file, frame.function, frame.code or "", frame.module or ""]
    return texts
