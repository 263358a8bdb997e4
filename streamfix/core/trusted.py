"""Trusted and untrusted text in what the fixer writes for people (commits, pull requests, labels).

Trusted text (the PR title, the commit subject, the branch name, labels) is built only from fields
streamfix controls or can check against a closed set: the category and severity (enums), a sanitised
error type (a name from :data:`KNOWN_ERROR_TYPES`, else ``Error``) and the pattern id (a hash of the
fingerprint). Nothing a log line or the model wrote can reach it.

Everything derived from logs or written by the model (messages, frame names, tracebacks, root cause,
explanation, service names) goes only through :func:`neutralise` and then inside :func:`fence`, a
code block the text cannot close. :func:`neutralise` removes what could act on GitHub or CI even as
plain text: ``[skip ci]`` and its variants, ``skip-checks: true``, ``@mentions``, closing keywords
(``Fixes #12``), HTML tags, markdown images and links, and URLs to hosts other than the repository's
(they are defanged: ``hxxps://evil[.]example``). Secrets are removed by the caller first
(:func:`streamfix.fixing.redact.scrub`).
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable

from streamfix.core.models import Category, Severity
from streamfix.core.untrusted import is_invisible

_BUILTIN_ERRORS = frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
)
KNOWN_ERROR_TYPES: frozenset[str] = _BUILTIN_ERRORS | frozenset(
    {
        # widely used libraries and frameworks (class names only; modules are dropped)
        "OperationalError",
        "IntegrityError",
        "ProgrammingError",
        "DataError",
        "DatabaseError",
        "InterfaceError",
        "InternalError",
        "NotSupportedError",
        "UniqueViolation",
        "ForeignKeyViolation",
        "DeadlockDetected",
        "SerializationFailure",
        "QueryCanceled",
        "UndefinedTable",
        "UndefinedColumn",
        "NoResultFound",
        "MultipleResultsFound",
        "StatementError",
        "DisconnectionError",
        "TimeoutError",
        "ConnectionError",
        "ConnectTimeout",
        "ReadTimeout",
        "WriteTimeout",
        "PoolTimeout",
        "ConnectError",
        "RemoteProtocolError",
        "HTTPError",
        "HTTPStatusError",
        "RequestError",
        "TooManyRedirects",
        "SSLError",
        "ProxyError",
        "ChunkedEncodingError",
        "ContentDecodingError",
        "InvalidURL",
        "JSONDecodeError",
        "ValidationError",
        "ClientError",
        "ServerError",
        "ClientResponseError",
        "ClientConnectorError",
        "ServerDisconnectedError",
        "RateLimitError",
        "APIError",
        "APIStatusError",
        "APIConnectionError",
        "APITimeoutError",
        "AuthenticationError",
        "PermissionDeniedError",
        "NotFoundError",
        "BadRequestError",
        "ConflictError",
        "UnprocessableEntityError",
        "InternalServerError",
        "OverloadedError",
        "InvalidRequestError",
        "CardError",
        "StripeError",
        "SlackApiError",
        "TwilioRestException",
        "BotoCoreError",
        "NoCredentialsError",
        "ParamValidationError",
        "RedisError",
        "ResponseError",
        "LockError",
        "KafkaError",
        "KafkaTimeoutError",
        "NoBrokersAvailable",
        "CommitFailedError",
        "ObjectDoesNotExist",
        "DoesNotExist",
        "MultipleObjectsReturned",
        "ImproperlyConfigured",
        "SuspiciousOperation",
        "PermissionDenied",
        "Http404",
        "HTTPException",
        "WebSocketDisconnect",
        "RequestValidationError",
        "DecodeError",
        "ExpiredSignatureError",
        "InvalidTokenError",
        "InvalidSignatureError",
        "YAMLError",
        "TemplateNotFound",
        "UndefinedError",
        "CancelledError",
        "InvalidStateError",
        "BrokenPipeError",
        "UnicodeDecodeError",
        "UnicodeEncodeError",
        "PydanticUserError",
        "OutOfMemoryError",
        "TypeError",
        "NullPointerException",
        "IllegalArgumentException",
        "IllegalStateException",
        "RuntimeException",
        "IndexOutOfBoundsException",
        "ClassCastException",
        "SQLException",
        "IOException",
        "NumberFormatException",
        "UnsupportedOperationException",
        "ConcurrentModificationException",
        "SyntaxError",
        "ReferenceError",
        "RangeError",
        "EvalError",
        "URIError",
        "AggregateError",
        "UnhandledPromiseRejection",
        "FetchError",
        "AbortError",
        "AxiosError",
        "PrismaClientKnownRequestError",
        "MongoServerError",
        "MongoNetworkError",
        "SequelizeDatabaseError",
        "QueryFailedError",
        "EntityNotFoundError",
        "ActiveRecordError",
        "RecordNotFound",
        "RecordInvalid",
        "NoMethodError",
        "ArgumentError",
        "NameError",
        "panic",
        "Error",
        "Exception",
    }
)

_FINGERPRINT = re.compile(r"\A[a-z]{1,8}\d{0,3}:[0-9a-f]{8,64}\Z")


def safe_category(category: str) -> str:
    """The category if it is one of :class:`~streamfix.core.models.Category`, else ``internal_error``."""
    return category if category in {c.value for c in Category} else Category.INTERNAL.value


def safe_severity(severity: str) -> str:
    value = severity.upper()
    return value if value in {s.value for s in Severity} else Severity.MEDIUM.value


def safe_error_type(error_type: str) -> str:
    """The class name of ``error_type`` (module dropped) when it is a known error type, else ``Error``."""
    name = re.split(r"[.:$/\\]", error_type.strip())[-1] if error_type else ""
    return name if name in KNOWN_ERROR_TYPES else "Error"


def safe_fingerprint(fingerprint: str) -> str | None:
    """The fingerprint when it has streamfix's shape (``fp1:`` and hex), else None."""
    return fingerprint if _FINGERPRINT.match(fingerprint) else None


# --- neutralising untrusted text -----------------------------------------------------------------------

_SKIP_CI = re.compile(
    r"(?i)\[\s*(?:skip|no|ci|actions?)[\s_\-]*(?:ci|skip|actions?|checks?)?\s*\]|\*{3}\s*no[\s_\-]*ci\s*\*{3}"
)
_SKIP_CHECKS = re.compile(r"(?i)\bskip[\s_\-]*checks?\s*[:=]\s*\w*")
_MENTION = re.compile(r"(?<![\w.+\-/])@(?=[A-Za-z0-9])")
_ISSUE_REF = re.compile(r"(?i)(?<![\w&])((?:[\w.\-]+/[\w.\-]+)?)#(?=\d)|\bGH-(?=\d)")
_CLOSING = re.compile(
    r"(?i)\b(close[sd]?|fix(?:e[sd])?|resolve[sd]?)\b(?=\s*:?\s*(?:[\w.\-]+/[\w.\-]+)?#?\s*\d)"
)
_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*)://([^/\s?#<>\"'`]+)")
_WWW = re.compile(r"(?i)\bwww\.")
_FENCE = re.compile(r"`{3,}|~{3,}")


def _defang(match: re.Match[str], allowed_hosts: frozenset[str]) -> str:
    scheme, host = match.group(1), match.group(2)
    bare = host.rsplit("@", 1)[-1].split(":")[0].lower()
    if bare in allowed_hosts:
        return match.group(0)
    scheme = re.sub(r"(?i)t", "x", scheme, count=2) if scheme.lower().startswith("http") else scheme + "-x"
    return f"{scheme}[:]//{host.replace('.', '[.]')}"


def neutralise(text: str, *, allowed_hosts: Iterable[str] = ()) -> str:
    """``text`` with everything that could act on GitHub or CI turned into inert, readable text."""
    hosts = frozenset(h.lower() for h in allowed_hosts)
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\n\t":
            out.append(ch)
        elif code < 32 or 0x7F <= code <= 0x9F or is_invisible(ch):
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    text = "".join(out)
    text = _FENCE.sub(lambda m: "'" * len(m.group(0)), text)
    text = _SKIP_CI.sub(lambda m: "(" + m.group(0).strip("[]*").strip() + ")", text)
    text = _SKIP_CHECKS.sub(lambda m: m.group(0).replace(":", " =").replace("-", " "), text)
    text = _CLOSING.sub(lambda m: m.group(1)[0] + "-" + m.group(1)[1:], text)
    text = _ISSUE_REF.sub(lambda m: (m.group(1) or "") + "# " if m.group(0).endswith("#") else "GH- ", text)
    text = _MENTION.sub("(at)", text)
    text = _URL.sub(lambda m: _defang(m, hosts), text)
    text = _WWW.sub("www[.]", text)
    text = text.replace("<", "‹").replace(">", "›")
    return text.replace("![", "! [").replace("](", "] (")


def fence(text: str) -> str:
    """A markdown code block around already neutralised text (which holds no fence of its own)."""
    return "```text\n" + text.rstrip("\n") + "\n```"


def quote_block(text: str, prefix: str = "    | ") -> str:
    """Plain-text quoting for commit messages: every line prefixed, so nothing reads as a trailer."""
    return "\n".join(prefix + line for line in text.rstrip("\n").splitlines()) or prefix.rstrip()
