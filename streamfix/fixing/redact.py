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
from collections.abc import Iterable, Mapping
from typing import Any

from streamfix.core.redact import CODE_RULES, RULES, Rule, find_secrets, redact
from streamfix.metrics import REDACTIONS
from streamfix.wire import FixRequest

log = logging.getLogger(__name__)

__all__ = ["all_rules", "code_rules", "find_secrets", "scrub", "scrub_code", "scrub_tree", "secrets_of"]

_SKIPPED_DETECTORS = frozenset(
    {"IPPublicDetector", "KeywordDetector", "PrivateKeyDetector", "BasicAuthDetector"}
)


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
            label = "ds_" + re.sub(r"(?<!^)(?=[A-Z])", "_", name.removesuffix("Detector")).lower()
            denylist: Iterable[Any] = getattr(cls, "denylist")  # noqa: B009 - a class attribute here
            for pattern in denylist:
                compiled = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
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


def scrub(text: str, *, where: str = "", known: Iterable[str] = ()) -> str:
    """Redact ``text`` (and the ``known`` secret values), count removals by kind, log only the counts."""
    cleaned, counts = redact(text, all_rules(), known=known)
    _count(where, counts)
    return cleaned


def scrub_code(text: str, *, where: str = "edit", known: Iterable[str] = ()) -> str:
    """Redact source code: like :func:`scrub`, but assignments count only with string-literal values."""
    cleaned, counts = redact(text, code_rules(), known=known)
    _count(where, counts)
    return cleaned


def scrub_tree(value: Any, *, where: str = "", known: Iterable[str] = ()) -> Any:
    """Every string inside ``value`` (dicts, lists, tuples) scrubbed; other values unchanged."""
    known = tuple(known)
    if isinstance(value, str):
        return scrub(value, where=where, known=known)
    if isinstance(value, Mapping):
        return {k: scrub_tree(v, where=where, known=known) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_tree(v, where=where, known=known) for v in value]
    return value


def secrets_of(request: FixRequest) -> set[str]:
    """Secret values in the request's texts; removed verbatim from everything derived later."""
    parts = [request.message, request.sample_traceback, request.suggested_fix, request.function or ""]
    parts += [f"{f.file} {f.function}" for f in request.frames]
    return find_secrets("\n".join(parts), all_rules())
