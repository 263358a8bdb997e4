"""Classification: real client libraries' error types and messages, every category; user rules."""

from __future__ import annotations

import pytest

from streamfix.core.classify import (
    DEFAULT_RULESET,
    RulesError,
    check_categories,
    classify,
    custom_fingerprint,
    load_rules,
)
from streamfix.core.models import Category, ErrorEvent, Frame, Severity
from streamfix.core.rules.default import SUGGESTED_FIXES


def event(error_type: str, message: str = "", **fields: object) -> ErrorEvent:
    return ErrorEvent(error_type=error_type, message=message, line_start=0, line_end=0, **fields)  # type: ignore[arg-type]


P, D, R, T, A, V, C, X, INT = (
    Category.PROVIDER, Category.DATABASE, Category.RATE_LIMIT, Category.TIMEOUT, Category.AUTH,
    Category.VALIDATION, Category.CACHE, Category.EXTERNAL_SERVICE, Category.INTERNAL,
)

CASES: list[tuple[str, str, str, Category]] = [
    # timeouts
    ("httpx-read-timeout", "httpx.ReadTimeout", "timed out", T),
    ("httpx-connect-timeout", "httpx.ConnectTimeout", "", T),
    ("httpx-pool-timeout", "httpx.PoolTimeout", "", T),
    ("requests-read-timeout", "requests.exceptions.ReadTimeout", "HTTPSConnectionPool(host='api.x.com', port=443): Read timed out.", T),
    ("aiohttp-timeout", "aiohttp.client_exceptions.ServerTimeoutError", "Timeout on reading data from socket", T),
    ("asyncio-timeout", "TimeoutError", "", T),
    ("asyncpg-query-canceled", "asyncpg.exceptions.QueryCanceledError", "canceling statement due to statement timeout", T),
    ("openai-timeout", "openai.APITimeoutError", "Request timed out.", T),
    ("anthropic-timeout", "anthropic.APITimeoutError", "Request timed out.", T),
    # rate limits
    ("openai-rate-limit", "openai.RateLimitError", "Error code: 429 - {'error': {'message': 'Rate limit reached'}}", R),
    ("anthropic-rate-limit", "anthropic.RateLimitError", "Error code: 429 - rate_limit_error", R),
    ("httpx-429", "httpx.HTTPStatusError", "Client error '429 Too Many Requests' for url 'https://api.x.com/v1'", R),
    ("requests-429", "requests.exceptions.HTTPError", "429 Client Error: Too Many Requests for url: https://x", R),
    ("stripe-rate-limit", "stripe.error.RateLimitError", "Request rate limit exceeded", R),
    ("openrouter-429", "LoggedError", "OpenRouter returned 429: rate limited upstream", R),
    ("resend-rate-limit", "resend.exceptions.RateLimitError", "Too many requests", R),
    # auth
    ("openai-auth", "openai.AuthenticationError", "Error code: 401 - Incorrect API key provided", A),
    ("anthropic-permission", "anthropic.PermissionDeniedError", "Error code: 403", A),
    ("httpx-401", "httpx.HTTPStatusError", "Client error '401 Unauthorized' for url 'https://x'", A),
    ("httpx-403", "httpx.HTTPStatusError", "Client error '403 Forbidden' for url 'https://x'", A),
    ("asyncpg-password", "asyncpg.exceptions.InvalidPasswordError", "password authentication failed for user \"app\"", A),
    ("psycopg-password", "psycopg.OperationalError", 'connection failed: FATAL:  password authentication failed for user "app"', A),
    ("stripe-auth", "stripe.error.AuthenticationError", "Invalid API Key provided: sk_test_****", A),
    ("supabase-gotrue", "gotrue.errors.AuthApiError", "Invalid login credentials", A),
    ("jwt-expired", "jwt.exceptions.ExpiredSignatureError", "Signature has expired", A),
    # validation
    ("pydantic", "pydantic_core._pydantic_core.ValidationError", "1 validation error for User\nage\n  Input should be a valid integer", V),
    ("fastapi-request", "fastapi.exceptions.RequestValidationError", "", V),
    ("json-decode", "json.decoder.JSONDecodeError", "Expecting value: line 1 column 1 (char 0)", V),
    ("value-error", "ValueError", "invalid literal for int() with base 10: 'x'", V),
    ("stripe-card", "stripe.error.CardError", "Your card was declined.", V),
    ("openai-bad-request-422", "LoggedError", "upstream said 422 Unprocessable Entity", V),
    # cache
    ("redis-connection", "redis.exceptions.ConnectionError", "Error 111 connecting to localhost:6379. Connection refused.", C),
    ("redis-response", "redis.exceptions.ResponseError", "WRONGTYPE Operation against a key holding the wrong kind of value", C),
    ("aioredis", "aioredis.exceptions.ConnectionError", "", C),
    ("redis-in-message", "ConnectionRefusedError", "[Errno 111] Connect call failed ('127.0.0.1', 6379) to redis", C),
    # database
    ("asyncpg-too-many", "asyncpg.exceptions.TooManyConnectionsError", "sorry, too many clients already", D),
    ("asyncpg-unique", "asyncpg.exceptions.UniqueViolationError", "duplicate key value violates unique constraint \"users_email_key\"", D),
    ("psycopg-undefined-table", "psycopg.errors.UndefinedTable", "relation \"orders\" does not exist", D),
    ("psycopg2-operational", "psycopg2.OperationalError", "could not connect to server: Connection refused", D),
    ("sqlalchemy-operational", "sqlalchemy.exc.OperationalError", "(psycopg2.OperationalError) server closed the connection unexpectedly", D),
    ("sqlalchemy-integrity", "sqlalchemy.exc.IntegrityError", "(sqlite3.IntegrityError) UNIQUE constraint failed: users.email", D),
    ("sqlite-operational", "sqlite3.OperationalError", "no such table: users", D),
    ("postgrest", "postgrest.exceptions.APIError", "{'code': 'PGRST116', 'message': 'JSON object requested, multiple rows returned'}", D),
    ("supabase-message", "LoggedError", "supabase query failed: PGRST301", D),
    # LLM providers and gateways
    ("openai-server", "openai.InternalServerError", "Error code: 500", P),
    ("anthropic-overloaded", "anthropic.OverloadedError", "Error code: 529 - overloaded_error", P),
    ("anthropic-connection", "anthropic.APIConnectionError", "Connection error.", P),
    ("openai-bad-request", "openai.BadRequestError", "context_length_exceeded", P),
    ("openrouter-message", "LoggedError", "OpenRouter: no available providers for model", P),
    ("portkey", "portkey_ai.exceptions.APIStatusError", "", P),
    ("litellm", "litellm.exceptions.ServiceUnavailableError", "", P),
    # other external services
    ("httpx-connect", "httpx.ConnectError", "[Errno 111] Connection refused", X),
    ("httpx-503", "httpx.HTTPStatusError", "Server error '503 Service Unavailable' for url 'https://x'", X),
    ("requests-connection", "requests.exceptions.ConnectionError", "Max retries exceeded with url: / (Caused by NewConnectionError)", X),
    ("aiohttp-connector", "aiohttp.client_exceptions.ClientConnectorError", "Cannot connect to host api.x.com:443", X),
    ("stripe-api-connection", "stripe.error.APIConnectionError", "Could not connect to Stripe", X),
    ("resend-error", "resend.exceptions.ResendError", "domain is not verified", X),
    ("dns", "socket.gaierror", "[Errno -2] Name or service not known", X),
    ("node-econnrefused", "Error", "connect ECONNREFUSED 127.0.0.1:8080", X),
    # internal
    ("key-error", "KeyError", "'pear'", INT),
    ("attribute-error", "AttributeError", "'NoneType' object has no attribute 'id'", INT),
    ("type-error", "TypeError", "unsupported operand type(s)", INT),
    ("java-npe", "java.lang.NullPointerException", "", INT),
    ("generic-logged", "LoggedError", "nightly export failed", INT),
    ("custom-app-error", "OrderError", "order 42 not found", INT),
]


@pytest.mark.parametrize(("error_type", "message", "category"), [pytest.param(t, m, c, id=i) for i, t, m, c in CASES])
def test_default_rules(error_type: str, message: str, category: Category) -> None:
    result = classify(event(error_type, message))
    assert result.category is category, result.rule
    fixable, fix = SUGGESTED_FIXES[category.value]
    assert (result.fixable, result.suggested_fix) == (fixable, fix)


def test_every_category_is_covered() -> None:
    assert {c for *_, c in CASES} == set(Category)


# The default fixability table and each category's remedy (the start of its suggested fix).
SEED_TABLE: list[tuple[str, str, bool, str]] = [
    ("openai.APIError", "provider down", True, "Retry with a fallback provider"),
    ("psycopg2.OperationalError", "could not connect to server", True, "Connection pool / retry"),
    ("openai.RateLimitError", "429", True, "Exponential backoff"),
    ("httpx.ReadTimeout", "timed out", True, "Increase the timeout / retry"),
    ("openai.AuthenticationError", "401", True, "Key rotation / refresh"),
    ("pydantic.ValidationError", "1 validation error", False, "Input validation"),
    ("redis.exceptions.ConnectionError", "Error 111 connecting to redis:6379", True, "Fallback to source"),
    ("httpx.ConnectError", "connection refused", True, "Circuit breaker / retry"),
    ("KeyError", "'user_id'", False, "Fix the code at the reported frame"),
]


@pytest.mark.parametrize(("error_type", "message", "fixable", "remedy"),
                         [pytest.param(*case, id=case[0]) for case in SEED_TABLE])
def test_default_fixability_and_remedy(error_type: str, message: str, fixable: bool, remedy: str) -> None:
    result = classify(event(error_type, message))
    assert (result.fixable, result.suggested_fix.split(":")[0]) == (fixable, remedy), result.category


def test_seed_table_covers_every_category() -> None:
    assert {classify(event(t, m)).category for t, m, *_ in SEED_TABLE} == set(Category)


def test_auth_is_fixable_and_critical() -> None:
    result = classify(event("openai.AuthenticationError", "401"))
    assert (result.fixable, result.severity) == (True, Severity.CRITICAL)


@pytest.mark.parametrize(
    ("chosen", "error_type", "fixable"),
    [
        pytest.param({"internal_error"}, "KeyError", True, id="code-bugs-on"),
        pytest.param({"internal_error"}, "openai.AuthenticationError", False, id="auth-off"),
        pytest.param(set(), "httpx.ReadTimeout", False, id="none"),
        pytest.param({c.value for c in Category}, "pydantic.ValidationError", True, id="all"),
    ],
)
def test_fixable_categories_choose(chosen: set[str], error_type: str, fixable: bool) -> None:
    assert classify(event(error_type, ""), fixable_categories=frozenset(chosen)).fixable is fixable


def test_user_rule_fixable_beats_fixable_categories() -> None:
    rules = load_rules('[[rules]]\ntype = "KeyError"\nfixable = true\n')
    assert classify(event("KeyError"), rules, fixable_categories=frozenset()).fixable is True


@pytest.mark.parametrize(
    ("names", "result"),
    [pytest.param(["auth_error", " Internal_Error "], {"auth_error", "internal_error"}, id="normalised"),
     pytest.param(["", "cache_error"], {"cache_error"}, id="blank-skipped"),
     pytest.param(["bug"], None, id="unknown"), pytest.param(["auth"], None, id="short-name")],
)
def test_check_categories(names: list[str], result: set[str] | None) -> None:
    if result is None:
        with pytest.raises(RulesError, match="unknown category"):
            check_categories(names)
    else:
        assert check_categories(names) == result


def test_chained_cause_decides_when_outer_is_generic() -> None:
    result = classify(event("RuntimeError", "upstream failed", chained=("httpx.ReadTimeout",)))
    assert result.category is Category.TIMEOUT
    assert "chained httpx.ReadTimeout" in result.rule


@pytest.mark.parametrize(
    ("level", "severity"),
    [pytest.param("CRITICAL", Severity.CRITICAL, id="critical-level"), pytest.param("WARNING", Severity.MEDIUM, id="warning-lowers"),
     pytest.param("ERROR", Severity.HIGH, id="error-keeps")],
)
def test_level_adjusts_severity(level: str, severity: Severity) -> None:
    assert classify(event("KeyError", "'x'", level=level)).severity is severity


def test_rules_are_versioned_and_named() -> None:
    assert DEFAULT_RULESET.version.startswith("rules-")
    assert len({r.name for r in DEFAULT_RULESET.rules}) == len(DEFAULT_RULESET.rules)
    assert classify(event("KeyError")).rule == f"{DEFAULT_RULESET.version}:internal-crash"


USER_RULES = """
version = "acme-1"

[[rules]]
name = "card-declined"
type = 'stripe\\..*CardError'
category = "external_service_error"
severity = "INFO"
fixable = false
title = "Card declined"
fingerprint = ["{{ type }}", "card-declined"]

[[rules]]
name = "legacy-module"
path = "legacy/"
severity = "LOW"

[[rules]]
name = "billing-service-timeouts"
match = { service = "^billing$", type = "Timeout" }
fingerprint = "{{ default }}-{{ service }}"
"""


def test_user_rules_checked_first() -> None:
    rules = load_rules(USER_RULES)
    result = classify(event("stripe.error.CardError", "declined"), rules)
    assert (result.category, result.severity, result.fixable, result.title, result.rule) == (
        Category.EXTERNAL_SERVICE, Severity.INFO, False, "Card declined", "user:card-declined"
    )


def test_user_rule_setting_only_severity_keeps_default_category() -> None:
    frames = (Frame("/app/legacy/old.py", 3, "f"),)
    result = classify(event("KeyError", "'x'", frames=frames), load_rules(USER_RULES))
    assert (result.category, result.severity) == (Category.INTERNAL, Severity.LOW)


def test_user_custom_fingerprint() -> None:
    rules = load_rules(USER_RULES)
    a = custom_fingerprint(event("stripe.error.CardError", "declined: card 1"), rules, "fp1:default")
    b = custom_fingerprint(event("stripe.error.CardError", "declined: card 2"), rules, "fp1:default")
    assert a == b
    assert a is not None
    assert a.startswith("fp1:rule:")
    billing = custom_fingerprint(event("httpx.ReadTimeout", service="billing"), rules, "fp1:d")
    other = custom_fingerprint(event("httpx.ReadTimeout", service="billing"), rules, "fp1:e")
    assert billing != other
    assert custom_fingerprint(event("KeyError"), rules, "fp1:d") is None


def test_user_rules_from_parsed_mapping() -> None:
    rules = load_rules({"rules": [{"name": "r", "message": "boom", "category": "cache_error"}]})
    assert classify(event("X", "boom"), rules).category is Category.CACHE


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("rules = [ {name = 'x'} ]", id="no-matcher"),
        pytest.param("[[rules]]\ntype = '('", id="bad-regex"),
        pytest.param("[[rules]]\ntype = 'x'\ncategory = 'nope'", id="bad-category"),
        pytest.param("[[rules]]\ntype = 'x'\nseverity = 'urgent'", id="bad-severity"),
        pytest.param("rules = 3", id="rules-not-array"),
        pytest.param("not toml ===", id="bad-toml"),
    ],
)
def test_bad_user_rules(source: str) -> None:
    with pytest.raises(RulesError):
        load_rules(source)


def test_crash_in_validation_handler_stays_internal() -> None:
    assert classify(event("ZeroDivisionError", "division by zero", chained=("ValueError",))).category is Category.INTERNAL


SITE = "/app/.venv/lib/python3.11/site-packages/"
STDLIB = "/usr/lib/python3.11/"


def _frames(*paths: str) -> tuple[Frame, ...]:
    """The application's frame, then the given library or stdlib files (innermost last)."""
    frames = [Frame("/app/api/handlers.py", 10, "handle", True, "handlers")]
    for path in paths:
        if path.startswith("node_modules/"):
            frames.append(Frame(f"/app/{path}", 1, "f", False))
            continue
        root = STDLIB if path.split(".")[0] in {"socket", "ssl", "smtplib"} else SITE
        full = root + path.replace(".", "/") + ".py"
        module = path
        frames.append(Frame(full, 1, "f", False, module))
    return tuple(frames)


# (id, type, message, library frames under the application's frame, expected category)
LIBRARY_CASES: list[tuple[str, str, str, tuple[str, ...], Category]] = [
    ("refused-inside-redis", "ConnectionRefusedError", "[Errno 111] Connection refused",
     ("redis.client", "redis.connection", "socket"), C),
    ("oserror-inside-pymemcache", "OSError", "[Errno 113] No route to host", ("pymemcache.client.base",), C),
    ("refused-inside-asyncpg", "ConnectionRefusedError", "[Errno 111] Connect call failed ('10.0.0.5', 5433)",
     ("asyncpg.connection", "asyncpg.connect_utils"), D),
    ("httpx-connect-inside-postgrest", "httpx.ConnectError", "[Errno -3] Try again",
     ("postgrest._sync.request_builder", "httpx._client", "httpcore._sync.connection"), D),
    ("mongo-server-selection", "pymongo.errors.ServerSelectionTimeoutError", "localhost:27017: [Errno 111]",
     ("pymongo.mongo_client",), T),
    ("django-db-generic", "django.db.utils.Error", "server closed the connection", ("django.db.backends.utils",), D),
    ("mongoengine-module", "mongoengine.errors.NotUniqueError", "Tried to save duplicate unique keys", (), D),
    ("httpx-connect-inside-anthropic", "httpx.ConnectError", "[Errno 111] Connection refused",
     ("anthropic._base_client", "httpx._client", "httpcore._sync.connection"), P),
    ("httpx-status-inside-openai", "httpx.HTTPStatusError", "Server error '500 Internal Server Error'",
     ("openai._base_client", "httpx._models"), P),
    ("google-genai-server", "google.genai.errors.ServerError", "500 INTERNAL", (), P),
    ("google-genai-frames", "RuntimeError", "stream ended", ("google.genai.models",), P),
    ("smtp-disconnected", "smtplib.SMTPServerDisconnected", "Connection unexpectedly closed", ("smtplib",), X),
    ("sendgrid-http", "python_http_client.exceptions.BadRequestsError", "HTTP Error 400: Bad Request",
     ("sendgrid.sendgrid", "python_http_client.client"), X),
    ("refused-inside-stripe", "ConnectionResetError", "[Errno 104] Connection reset by peer",
     ("stripe._api_requestor", "urllib3.connectionpool"), X),
    ("twilio-rest", "twilio.base.exceptions.TwilioRestException", "Unable to create record", (), X),
    ("boto-client-error", "botocore.exceptions.ClientError", "An error occurred (NoSuchBucket)", ("boto3.resources",), X),
    ("node-ioredis", "Error", "Connection is closed.", ("node_modules/ioredis/built/Redis.js",), C),
    ("node-prisma", "PrismaClientKnownRequestError", "Unique constraint failed on the fields: (`email`)",
     ("node_modules/@prisma/client/runtime/library.js",), D),
    ("node-anthropic-sdk", "Error", "Connection error.", ("node_modules/@anthropic-ai/sdk/core.js",), P),
    # what the libraries must not override
    ("timeout-inside-redis-stays-timeout", "redis.exceptions.TimeoutError", "Timeout reading from socket",
     ("redis.connection",), T),
    ("keyerror-inside-app-stays-internal", "KeyError", "'pear'", (), INT),
    ("stdlib-frames-are-no-library", "ConnectionRefusedError", "[Errno 111] Connection refused", ("socket",), X),
]


@pytest.mark.parametrize(("error_type", "message", "libraries", "category"),
                         [pytest.param(t, m, lib, c, id=i) for i, t, m, lib, c in LIBRARY_CASES])
def test_categories_from_libraries(error_type: str, message: str, libraries: tuple[str, ...], category: Category) -> None:
    result = classify(event(error_type, message, frames=_frames(*libraries)))
    assert result.category is category, result.rule


def test_library_frames_above_the_application_do_not_count() -> None:
    frames = (Frame(SITE + "uvicorn/protocols/http.py", 1, "run", False, "uvicorn.protocols.http"),
              Frame(SITE + "redis/client.py", 1, "call", False, "redis.client"),
              Frame("/app/api/handlers.py", 10, "handle", True, "handlers"))
    assert classify(event("KeyError", "'x'", frames=frames)).category is INT


def test_user_rule_on_library_wins() -> None:
    rules = load_rules({"rules": [{"name": "our-redis-is-critical", "library": "^redis", "severity": "CRITICAL"}]})
    result = classify(event("ConnectionRefusedError", "", frames=_frames("redis.connection")), rules)
    assert (result.category, result.severity, result.rule) == (C, Severity.CRITICAL, "user:our-redis-is-critical")
