"""Secret and PII redaction: tables of named, compiled patterns and one pure function over text.

Everything streamfix sends out of the process (analysis prompts, commit messages, pull requests, fix
results, API answers, ``extract`` output) and every error event it keeps goes through :func:`redact`
first, always *before* any truncation. Rules are data: :data:`RULES` is an ordered table of
``(name, pattern)``; the first rules are specific (a provider's key format), then secret-bearing
contexts (``key=value`` with a secret-like key, URL query parameters such as ``sig=``, auth headers,
DSNs), then PII (card numbers that pass the Luhn check, IBANs, emails), and last long high-entropy
tokens. In a secret-bearing context the value is removed whatever it looks like (no entropy exemption).
A match is replaced by ``[REDACTED:<name>]``; when a pattern has a group named ``secret`` only that
group is replaced, so the surrounding context (``password=``, the URL's user and host) stays readable.

Percent-encoded text is decoded and checked too: a token whose decoded form holds a secret is removed
as a whole. The adapter :mod:`streamfix.fixing.redact` adds the detectors of a maintained rule set
(Yelp's ``detect-secrets``) to these rules; this module stays pure (``re`` only).

:data:`CODE_RULES` is the variant for source code written by a model: assignments count only when the
value is a string literal, so ``sorted(items, key=len)`` is left alone.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote

import ahocorasick

from streamfix.core.untrusted import MARKER as _MARKER


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    check: Callable[[str], bool] | None = None  # extra test of the matched (secret) text
    key: re.Pattern[str] | None = None  # when set, the group ``key`` must match it (searched)


def _rule(
    name: str,
    pattern: str,
    flags: int = 0,
    check: Callable[[str], bool] | None = None,
    key: re.Pattern[str] | None = None,
) -> Rule:
    return Rule(name, re.compile(pattern, flags), check, key)


_B = r"(?<![A-Za-z0-9_\-])"  # left boundary: not inside a longer token
_E = r"(?![A-Za-z0-9_\-])"  # right boundary

# Words that make the value after them a secret, in any case, anywhere inside a key name.
_SECRET_WORDS = (
    r"passw(?:or)?d|passwd|pwd|passphrase|secret|token(?![a-z])|api[_\-.]?key|apikey|access[_\-.]?key|"
    r"private[_\-.]?key|priv[_\-.]?key|client[_\-.]?secret|credentials?|auth(?:orization)?(?![a-z])|"
    r"signature|(?<![a-z])sig(?![a-z])|dsn|session[_\-.]?(?:id|key)|cookie|(?<![a-z])salt|(?<![a-z])sas(?![a-z])|"
    r"conn(?:ection)?[_\-.]?str(?:ing)?|account[_\-.]?key|shared[_\-.]?access[_\-.]?key|service[_\-.]?role|"
    r"(?<![a-z])key(?![a-z])"
)
_SECRET_KEY = re.compile(r"(?i)" + _SECRET_WORDS)
_ENV_KEY = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|PWD|KEY|APIKEY|CREDENTIAL|AUTH|DSN|SIG|SIGNATURE|SALT|PRIVATE|COOKIE|SESSION"
)
# A value: quoted, or a run up to a separator. ``None``/``null``/empty and calls are not values.
_VALUE = r"(?P<secret>\"[^\"\n]{1,}\"|'[^'\n]{1,}'|[^\s\"',;&}<>)\]]{3,})"
_NOT_A_VALUE = re.compile(
    r"""^(?:["']?(?:none|null|nil|true|false|undefined|\*+|<[^>]*>|\[redacted[^\]]*\]?|\$\{?\w+\}?)["']?"""
    r"|[A-Za-z_][\w.]*[(\[].*|[A-Za-z_][\w]*\.[A-Za-z_][\w.]*)$",
    re.IGNORECASE,
)


def _is_value(text: str) -> bool:
    return not _NOT_A_VALUE.match(text.strip())


def _is_code_value(text: str) -> bool:
    """In source code a bare name or number after ``key=`` is a variable or a constant, not a secret."""
    value = text.strip()
    return _is_value(value) and not re.fullmatch(r"[A-Za-z_]\w*|[\d.]+|f?[\"'].*\{.*\}.*[\"']", value)


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a card number (spaces and dashes ignored)."""
    numbers = [int(ch) for ch in digits if ch.isdigit()]
    if not 13 <= len(numbers) <= 19 or len(set(numbers)) < 3 or numbers[0] not in (2, 3, 4, 5, 6):
        return False
    total = 0
    for i, n in enumerate(reversed(numbers)):
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    """The ISO 13616 mod-97 check of an IBAN."""
    compact = text.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    try:
        return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1
    except ValueError:
        return False


_PROVIDERS: tuple[Rule, ...] = (
    _rule(
        "private_key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    ),
    _rule("private_key_json", r"(?:\\n|\n)?-----BEGIN [A-Z ]*PRIVATE KEY-----(?:\\n|[A-Za-z0-9+/=\s\\])*"),
    _rule("anthropic_key", _B + r"sk-ant-(?:api|admin|oat|ort)\d{2}-[A-Za-z0-9_\-]{20,}" + _E),
    _rule(
        "openai_key",
        _B + r"sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}(?:T3BlbkFJ[A-Za-z0-9_\-]{20,})?" + _E,
    ),
    _rule("github_token", _B + r"(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{40,255})" + _E),
    _rule("gitlab_token", _B + r"(?:glpat|gldt|glft|glsoat|glrt|glcbt|glimt|glptt|glagent|gloas)-[A-Za-z0-9_\-]{20,}" + _E),
    _rule("stripe_key", _B + r"(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}" + _E),
    _rule("stripe_webhook_secret", _B + r"whsec_[A-Za-z0-9+/=]{20,}" + _E),
    _rule(
        "aws_access_key_id",
        _B + r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}" + _E,
    ),
    _rule(
        "aws_secret_access_key",
        r"(?i)(?:aws_?secret_?(?:access_?)?key|secret_?access_?key)[\"']?\s*[:=]\s*[\"']?(?P<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
    ),
    _rule("slack_token", _B + r"xox[abposre]-[A-Za-z0-9\-]{10,}" + _E),
    _rule("slack_app_token", _B + r"xapp-\d-[A-Za-z0-9\-]{10,}" + _E),
    _rule("slack_webhook", r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_\-]+"),
    _rule(
        "discord_webhook", r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_\-]+"
    ),
    _rule("discord_bot_token", _B + r"[MNO][A-Za-z\d_\-]{23,25}\.[A-Za-z\d_\-]{6}\.[A-Za-z\d_\-]{27,}" + _E),
    _rule("google_api_key", _B + r"AIza[0-9A-Za-z_\-]{35}" + _E),
    _rule("google_oauth_secret", _B + r"GOCSPX-[A-Za-z0-9_\-]{20,}" + _E),
    _rule("google_oauth_token", _B + r"ya29\.[0-9A-Za-z_\-]{20,}" + _E),
    _rule("google_refresh_token", _B + r"1//0[0-9A-Za-z_\-]{30,}" + _E),
    _rule("twilio_key", _B + r"(?:SK|AC)[0-9a-fA-F]{32}" + _E),
    _rule("sendgrid_key", _B + r"SG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}" + _E),
    _rule("mailgun_key", _B + r"key-[0-9a-zA-Z]{32}" + _E),
    _rule("mailchimp_key", _B + r"[0-9a-f]{32}-us\d{1,2}" + _E),
    _rule("npm_token", _B + r"npm_[A-Za-z0-9]{36}" + _E),
    _rule("pypi_token", _B + r"pypi-AgE[A-Za-z0-9_\-]{50,}" + _E),
    _rule("shopify_token", _B + r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}" + _E),
    _rule("square_token", _B + r"(?:EAAA|sq0atp-|sq0csp-|sq0idp-)[A-Za-z0-9_\-]{22,}" + _E),
    _rule("digitalocean_token", _B + r"do[por]_v1_[a-f0-9]{64}" + _E),
    _rule("huggingface_token", _B + r"hf_[A-Za-z0-9]{30,}" + _E),
    _rule("telegram_bot_token", _B + r"\d{8,10}:AA[A-Za-z0-9_\-]{33}" + _E),
    _rule("vercel_token", _B + r"(?:vc[pkiar]|vercel)_[A-Za-z0-9]{20,}" + _E),
    _rule("supabase_token", _B + r"sb(?:p|_secret|_publishable)_[A-Za-z0-9_\-]{20,}" + _E),
    _rule("linear_key", _B + r"lin_(?:api|oauth)_[A-Za-z0-9]{30,}" + _E),
    _rule("notion_token", _B + r"(?:secret_|ntn_)[A-Za-z0-9]{40,}" + _E),
    _rule("atlassian_token", _B + r"ATATT3[A-Za-z0-9_\-=]{30,}" + _E),
    _rule("doppler_token", _B + r"dp\.(?:st|sa|ct|pt|scim|audit)\.[A-Za-z0-9_\-.]{20,}" + _E),
    _rule("postman_key", _B + r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}" + _E),
    _rule("age_secret_key", _B + r"AGE-SECRET-KEY-1[0-9A-Z]{58}" + _E),
    _rule("newrelic_key", _B + r"NR(?:AK|AA|II|JS)-[A-Za-z0-9]{20,}" + _E),
    _rule("sentry_token", _B + r"sntr[ysu]_[A-Za-z0-9_=+/\-]{30,}" + _E),
    _rule("databricks_token", _B + r"dapi[a-f0-9]{32}(?:-\d)?" + _E),
    _rule("grafana_token", _B + r"(?:glc_|glsa_)[A-Za-z0-9_+/=\-]{30,}" + _E),
    _rule("hashicorp_token", _B + r"(?:hvs|hvb|hvr)\.[A-Za-z0-9_\-]{20,}" + _E),
    _rule("planetscale_token", _B + r"pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_\-.]{30,}" + _E),
    _rule("flyio_token", _B + r"FlyV1 fm\d_[A-Za-z0-9_+/=,\-]{20,}"),
    _rule("azure_client_secret", _B + r"[A-Za-z0-9_~.\-]{3}\dQ~[A-Za-z0-9_~.\-]{31,34}" + _E),
    _rule("groq_key", _B + r"gsk_[A-Za-z0-9]{40,}" + _E),
    _rule("replicate_token", _B + r"r8_[A-Za-z0-9]{30,}" + _E),
    _rule("perplexity_key", _B + r"pplx-[A-Za-z0-9]{40,}" + _E),
    _rule("xai_key", _B + r"xai-[A-Za-z0-9]{40,}" + _E),
    _rule("nvidia_key", _B + r"nvapi-[A-Za-z0-9_\-]{40,}" + _E),
    _rule("posthog_key", _B + r"ph[xc]_[A-Za-z0-9]{30,}" + _E),
    _rule("bitbucket_token", _B + r"ATBB[A-Za-z0-9_=.\-]{28,}" + _E),
    _rule("heroku_key", _B + r"HRKU-[A-Za-z0-9_\-]{30,}" + _E),
    _rule("facebook_token", _B + r"EAA[A-Za-z0-9]{3}[A-Za-z0-9]{30,}" + _E),
    _rule("firebase_key", _B + r"AAAA[A-Za-z0-9_\-]{7}:APA91b[A-Za-z0-9_\-]{60,}"),
    _rule("mapbox_token", _B + r"[ps]k\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}" + _E),
    _rule("jwt", _B + r"eyJ[A-Za-z0-9_\-]{6,}\.eyJ[A-Za-z0-9_\-]{6,}\.[A-Za-z0-9_\-]{6,}" + _E),
)

_CONTEXTS: tuple[Rule, ...] = (
    _rule("bearer_token", r"(?i)\b(?:bearer|token|apikey|api-key)\s+(?P<secret>[A-Za-z0-9_\-.~+/]{12,}=*)"),
    _rule("basic_auth_header", r"(?i)\bbasic\s+(?P<secret>[A-Za-z0-9+/]{8,}={0,2})"),
    _rule(
        "auth_header",
        r"(?im)\b(?:proxy-)?(?:authorization|x-api-key|api-key|x-auth-token|x-access-token|x-[a-z\-]*-token|"
        r"private-token|cookie|set-cookie)[\"']?\s*[:=]\s*(?P<secret>[^\n\"',}]{4,})",
    ),
    _rule(
        "url_password",
        r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s:/@\"'<>]*:(?P<secret>[^\s@/\"'<>]+)@",
    ),
    _rule("url_userinfo_key", r"(?i)\b[a-z][a-z0-9+.\-]*://(?P<secret>[A-Za-z0-9_\-]{16,})@"),
    _rule(
        "url_query_secret",
        r"(?i)[?&;](?:[a-z0-9_.\-]*(?:sig|signature|token|secret|passw(?:or)?d|pwd|key|auth|credential|code|"
        r"session|sas|security-token)[a-z0-9_.\-]*)=(?P<secret>[^&\s\"'#<>]{3,})",
    ),
    _rule(
        "secret_env_assignment",
        r"(?<![A-Za-z0-9_])(?P<key>[A-Z0-9_]{2,80}+)[\"']?\s*[:=]\s*" + _VALUE,
        check=_is_value,
        key=_ENV_KEY,
    ),
    _rule(
        "secret_assignment",
        r"(?<![A-Za-z0-9_.\-])(?P<key>[A-Za-z0-9_.\-]{2,80}+)[\"']?\s*(?:[:=]|=>|:=)\s*" + _VALUE,
        check=_is_value,
        key=_SECRET_KEY,
    ),
    _rule(
        "secret_near_word",
        r"(?i)\b(?:token|key|secret|password|apikey|credential|signature|sig)s?\b[^\n]{0,24}?"
        r"(?<![A-Za-z0-9\-])(?P<secret>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        r"|[0-9a-fA-F]{20,}|[A-Za-z0-9+/_\-]{20,}={0,2})(?![A-Za-z0-9\-])",
        check=lambda s: any(c.isdigit() for c in s) and any(c.isalpha() for c in s),
    ),
)

_PII: tuple[Rule, ...] = (
    _rule("card_number", r"(?<![\w\-])(?:\d[ \-]?){12,18}\d(?![\w\-])", check=luhn_ok),
    _rule("iban", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", check=iban_ok),
    _rule("us_ssn", r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"),
    _rule("email", r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b"),
)

# Maximal runs only (a scan from the left finds a run at its first character), so no lookarounds needed.
_ENTROPY: tuple[Rule, ...] = (_rule("high_entropy", r"[A-Za-z0-9+_\-/]{32,}={0,2}"),)

RULES: tuple[Rule, ...] = _PROVIDERS + _CONTEXTS + _PII + _ENTROPY
"""The rules for log text, prompts, messages and API answers."""

CODE_RULES: tuple[Rule, ...] = (
    *_PROVIDERS,
    *(Rule(r.name, r.pattern, _is_code_value, r.key) if r.check is not None or r.name == "auth_header" else r
      for r in _CONTEXTS),
    *_PII,
    *_ENTROPY,
)
"""The rules for source code: an assignment counts only when its value is a string literal."""

_SECRET_TRIGGERS = (
    "pass", "pwd", "secret", "token", "key", "auth", "sig", "cred", "dsn", "session", "cookie", "salt", "sas",
    "conn", "service_role", "private",
)
TRIGGERS: dict[str, tuple[str, ...]] = {
    # A rule runs only when the lowercased text holds one of its trigger substrings (cheap C-level
    # searches), so an ordinary error message costs a few dozen substring checks and three regexes.
    # A trigger that starts with "!" is looked for, case and all, in the text itself.
    "private_key": ("-----begin",), "private_key_json": ("-----begin",), "anthropic_key": ("sk-ant-",),
    "openai_key": ("sk-",), "github_token": ("gh", "github_pat_"), "gitlab_token": ("gl",),
    "stripe_key": ("_live_", "_test_"), "stripe_webhook_secret": ("whsec_",),
    "aws_access_key_id": ("a3t", "akia", "asia", "abia", "acca", "agpa", "aida", "aroa", "anpa", "anva", "aipa"),
    "aws_secret_access_key": ("secret",), "slack_token": ("xox",), "slack_app_token": ("xapp-",),
    "slack_webhook": ("hooks.slack.com",), "discord_webhook": ("discord",), "discord_bot_token": (".",),
    "google_api_key": ("aiza",), "google_oauth_secret": ("gocspx-",), "google_oauth_token": ("ya29.",),
    "google_refresh_token": ("1//0",), "twilio_key": ("sk", "ac"), "sendgrid_key": ("sg.",),
    "mailgun_key": ("key-",), "mailchimp_key": ("-us",), "npm_token": ("npm_",), "pypi_token": ("pypi-",),
    "shopify_token": ("shp",), "square_token": ("eaaa", "sq0"), "digitalocean_token": ("_v1_",),
    "huggingface_token": ("hf_",), "telegram_bot_token": (":aa",), "vercel_token": ("vc", "vercel_"),
    "supabase_token": ("sb",), "linear_key": ("lin_",), "notion_token": ("secret_", "ntn_"),
    "atlassian_token": ("atatt3",), "doppler_token": ("dp.",), "postman_key": ("pmak-",),
    "age_secret_key": ("age-secret-key-",), "newrelic_key": ("nr",), "sentry_token": ("sntr",),
    "databricks_token": ("dapi",), "grafana_token": ("glc_", "glsa_"), "hashicorp_token": ("hv",),
    "planetscale_token": ("pscale_",), "flyio_token": ("flyv1",), "azure_client_secret": ("q~",),
    "jwt": ("eyj",), "groq_key": ("gsk_",), "replicate_token": ("r8_",), "perplexity_key": ("pplx-",),
    "xai_key": ("xai-",), "nvidia_key": ("nvapi-",), "posthog_key": ("phx_", "phc_"), "bitbucket_token": ("atbb",),
    "heroku_key": ("hrku-",), "facebook_token": ("!EAA",), "firebase_key": (":apa91b",), "mapbox_token": (".eyj",), "bearer_token": ("bearer", "token", "apikey", "api-key"), "basic_auth_header": ("basic",),
    "auth_header": ("auth", "api-key", "token", "cookie"), "url_password": ("://",), "url_userinfo_key": ("://",),
    "url_query_secret": ("=",), "secret_env_assignment": _SECRET_TRIGGERS, "secret_assignment": _SECRET_TRIGGERS,
    "secret_near_word": ("token", "key", "secret", "password", "credential", "sig"),
    "email": ("@",), "us_ssn": ("-",),
}
GATES: dict[str, re.Pattern[str]] = {
    # A rule without a literal trigger runs only when its gate (a simpler, fast regex) finds something.
    "card_number": re.compile(r"(?<![\d\-])\d(?:[ \-]?\d){11}"),
    "iban": re.compile(r"[A-Z]{2}\d{2} ?[A-Z0-9]{4}"),
    "us_ssn": re.compile(r"\d{3}-\d\d-\d{4}"),
    "discord_bot_token": re.compile(r"[MNO][A-Za-z\d_\-]{23}"),
}

MIN_KNOWN_LENGTH = 6
"""Known secret values shorter than this are not removed on their own (too many false hits)."""

ENTROPY_MIN_BITS = 4.0
"""Shannon entropy (bits per character) above which a long mixed token counts as a secret outside any
secret-bearing context. Hex digests (fingerprints, commit SHAs) top out at 4.0 and so are kept."""

_PERCENT_TOKEN = re.compile(r"[A-Za-z0-9%._~+\-/=:@&?]*%[0-9A-Fa-f]{2}[A-Za-z0-9%._~+\-/=:@&?]*")


def shannon_entropy(token: str) -> float:
    if not token:
        return 0.0
    counts = Counter(token)
    n = len(token)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_PLAIN_SEGMENT = re.compile(r"[A-Za-z]+|\d+|[0-9a-fA-F]{1,16}")


def _looks_random(token: str) -> bool:
    core = token.rstrip("=")
    if all(_PLAIN_SEGMENT.fullmatch(seg) for seg in re.split(r"[_\-.]", core) if seg):
        return False  # words, numbers and short hex joined by separators: an identifier, a UUID
    has_digit = any(ch.isdigit() for ch in core)
    has_alpha = any(ch.isalpha() for ch in core)
    return has_digit and has_alpha and shannon_entropy(core) > ENTROPY_MIN_BITS


def redact(
    text: str, rules: Sequence[Rule] = RULES, *, known: Iterable[str] = ()
) -> tuple[str, dict[str, int]]:
    """Return ``text`` with every secret replaced, and how many of each kind were replaced.

    ``known`` are literal secret values found earlier in the inputs (see :func:`find_secrets`); they are
    removed wherever they appear (also percent-encoded), even without the context that identified them.
    """
    text, counts, _ = _apply(text, rules, known)
    return text, counts


def find_secrets(text: str, rules: Sequence[Rule] = RULES) -> set[str]:
    """The literal secret values the rules find in ``text`` (for later use as ``known``)."""
    return _apply(text, rules, ())[2]


Finder = Callable[[str, str], frozenset[str]]
_Plan = tuple[
    Finder, tuple[int, ...], dict[str, tuple[int, ...]], tuple[tuple[Rule, re.Pattern[str] | None], ...]
]
_PLANS: dict[int, tuple[Sequence[Rule], _Plan]] = {}


def _plan_of(rules: Sequence[Rule]) -> _Plan:
    """The plan of a rule table, computed once per table object (tables are long-lived constants)."""
    cached = _PLANS.get(id(rules))
    if cached is not None and cached[0] is rules:
        return cached[1]
    plan = _plan(tuple(rules))
    if len(_PLANS) > 64:
        _PLANS.clear()
    _PLANS[id(rules)] = (rules, plan)
    return plan


def _finder(literals: Iterable[str]) -> Finder:
    """A function giving the trigger literals present in a text: one Aho-Corasick pass over the
    lowercased text for the longer ones, plain substring checks for one-character and exact-case ones."""
    automaton = ahocorasick.Automaton()
    simple: list[str] = []
    for literal in set(literals):
        if literal.startswith("!") or len(literal) == 1:
            simple.append(literal)
        else:
            automaton.add_word(literal, literal)
    automaton.make_automaton()
    has_words = len(automaton) > 0

    def find(text: str, lowered: str) -> frozenset[str]:
        found = {value for _, value in automaton.iter(lowered)} if has_words else set()
        found.update(t for t in simple if (t[1:] in text if t[0] == "!" else t in lowered))
        return frozenset(found)

    return find


@functools.lru_cache(maxsize=16)
def _plan(rules: tuple[Rule, ...]) -> _Plan:
    """For a rule table: a finder of its trigger literals, the rules that always run, the rules each
    literal turns on, and each rule with its gate (all by position in the table, which is the order)."""
    always: list[int] = []
    by_literal: dict[str, list[int]] = {}
    for index, rule in enumerate(rules):
        triggers = TRIGGERS.get(rule.name)
        if triggers is None:
            always.append(index)
        else:
            for literal in triggers:
                by_literal.setdefault(literal, []).append(index)
    return (
        _finder(by_literal),
        tuple(always),
        {k: tuple(v) for k, v in by_literal.items()},
        tuple((rule, GATES.get(rule.name)) for rule in rules),
    )


def _known_forms(known: Iterable[str]) -> list[str]:
    forms: set[str] = set()
    for value in known:
        if len(value) < MIN_KNOWN_LENGTH:
            continue
        forms.add(value)
        forms.add(quote(value, safe=""))
        forms.add(value.replace("\n", "\\n"))
    return sorted(forms, key=len, reverse=True)


def _apply(text: str, rules: Sequence[Rule], known: Iterable[str]) -> tuple[str, dict[str, int], set[str]]:
    counts: dict[str, int] = {}
    found: set[str] = set()
    for value in _known_forms(known):
        hits = text.count(value)
        if hits:
            text = text.replace(value, "[REDACTED:known_secret]")
            counts["known_secret"] = counts.get("known_secret", 0) + hits
    if "%" in text:
        text = _percent_encoded(text, rules, counts, found)
    lowered = text.lower()
    finder, always, by_literal, plan = _plan_of(rules)
    chosen = set(always)
    for literal in finder(text, lowered):
        chosen.update(by_literal[literal])
    for index in sorted(chosen):
        rule, gate = plan[index]
        if gate is not None and gate.search(text) is None:
            continue

        def substitute(match: re.Match[str], rule: Rule = rule) -> str:
            whole = match.group(0)
            has_group = "secret" in rule.pattern.groupindex and match.group("secret") is not None
            secret = match.group("secret") if has_group else whole
            if rule.name == "high_entropy":
                if "/" in whole.rstrip("="):  # a path or a base64 key: judge each segment
                    parts = whole.split("/")
                    if not any(len(p) >= 32 and _looks_random(p) for p in parts) and not (
                        re.search(r"[+=]", whole) and _looks_random(whole)
                    ):
                        return whole
                elif not _looks_random(whole):
                    return whole
            if _MARKER in secret and rule.name not in ("private_key", "private_key_json"):
                return whole
            if rule.check is not None and not rule.check(secret):
                return whole
            if rule.key is not None and not rule.key.search(match.group("key")):
                return whole
            counts[rule.name] = counts.get(rule.name, 0) + 1
            marker = f"[REDACTED:{rule.name}]"
            if has_group:
                start, end = match.span("secret")
                if len(secret) >= 2 and secret[0] == secret[-1] and secret[0] in "\"'":
                    start, end = start + 1, end - 1  # keep the quotes: code stays valid
                found.add(secret.strip("\"'"))
                offset = match.start(0)
                return whole[: start - offset] + marker + whole[end - offset :]
            found.add(whole)
            return marker

        text = rule.pattern.sub(substitute, text)
    return text, counts, found


def _percent_encoded(text: str, rules: Sequence[Rule], counts: dict[str, int], found: set[str]) -> str:
    """Remove tokens whose percent-decoded form holds a secret (``password%3Dhunter2``, encoded keys)."""

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        decoded = unquote(token)
        if decoded == token:
            return token
        cleaned, inner, secrets = _apply(decoded, rules, ())
        if not inner:
            return token
        for value in secrets:
            found.add(value)
            found.add(quote(value, safe=""))
        counts["percent_encoded"] = counts.get("percent_encoded", 0) + 1
        # keep what is readable: the decoded text with its secrets replaced
        return quote(cleaned, safe="/:=&?@[]")

    return _PERCENT_TOKEN.sub(substitute, text)
