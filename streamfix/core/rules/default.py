"""The default classification rules: an ordered, versioned table of named patterns.

Each row is ``(name, category, severity, matchers)``. ``matchers`` maps a field to a regular expression
searched (case-insensitively) in it: ``type`` (the dotted error type), ``message`` (the exception
message, or the log message for a line without a traceback), ``logger``, ``level``, ``service`` or
``path`` (the files of the frames), ``module`` (the exception's module: ``redis.exceptions``) or
``library`` (the library modules or packages under the application's innermost frame, one per line, the
one the application called first: ``^`` anchors a pattern to that one, ``(?m)^`` to any line). All matchers of a row must match. The first row that
matches wins, so specific rows (a client library's rate-limit error) come before generic ones (any
error of that library). Bump :data:`RULES_VERSION` whenever a row changes what it matches.
"""

from __future__ import annotations

RULES_VERSION = "rules-2026.12.2"

_LLM_SDKS = r"^(?:openai|anthropic|cohere|mistralai|groq|together|replicate|litellm|portkey_ai|portkey|openrouter|google\.generativeai|google\.genai|vertexai)\b"
# Client libraries by what they talk to: an error raised inside one (a builtin ConnectionRefusedError, an
# httpx error under an LLM SDK) is that service's error. Used on the exception's module and on the library
# the application called.
_CACHE_LIBS = (r"redis|aioredis|coredis|valkey|django_redis|redis_om|pymemcache|memcache|pylibmc|bmemcached|aiomcache"
               r"|aiocache|diskcache|cachetools_async|ioredis|@redis/client|memjs")
_DB_LIBS = (r"asyncpg|psycopg2?|psycopg_pool|psycopg|pg8000|aiopg|sqlalchemy|sqlite3|aiosqlite|pymysql|MySQLdb|mysql\.connector"
            r"|aiomysql|asyncmy|pymongo|motor|mongoengine|beanie|odmantic|postgrest|supabase|prisma|@prisma/client"
            r"|tortoise|peewee|pony|ormar|django\.db|databases|sqlmodel|piccolo|edgedb|neo4j|cassandra|clickhouse_connect"
            r"|pyodbc|cx_Oracle|oracledb|duckdb|snowflake\.connector|google\.cloud\.bigquery|elasticsearch|opensearchpy"
            r"|pg|mysql2|mongodb|mongoose|sequelize|typeorm|knex|drizzle-orm|@supabase/postgrest-js")
_SAAS_LIBS = (r"smtplib|aiosmtplib|sendgrid|python_http_client|postmarker|postmark|mailgun|mailjet_rest|resend|mailchimp\w*"
              r"|stripe|braintree|paypalrestsdk|adyen|twilio|vonage|plivo|messagebird|slack_sdk|slack|discord|telegram"
              r"|pusher|algoliasearch|sentry_sdk|boto3|botocore|s3transfer|aiobotocore|google\.cloud|azure|firebase_admin"
              r"|pika|aio_pika|kombu|aiokafka|kafka|confluent_kafka|nats|paho|github|nodemailer|@sendgrid/mail|@aws-sdk/\S+")
_LLM_LIBS = (r"openai|anthropic|cohere|mistralai|groq|together|replicate|litellm|portkey_ai|portkey|openrouter"
             r"|google\.generativeai|google\.genai|google\.ai\.generativelanguage|vertexai|langchain_openai"
             r"|langchain_anthropic|langchain_google_genai|voyageai|ollama|huggingface_hub|@anthropic-ai/sdk"
             r"|@google/genai|@google/generative-ai")
_HTTP_CLIENTS = r"^(?:httpx|httpcore|requests|aiohttp|urllib3|urllib\.error|http\.client|websockets|grpc|botocore|boto3|google\.api_core)\b"

# .NET exception types (full names, as Mono and .NET print them), by category. Authentication needs no row
# of its own: System.UnauthorizedAccessException and System.Security.Authentication.* match "auth-type".
_DOTNET_TIMEOUT = r"^System\.Threading\.Tasks\.TaskCanceledException$"
_DOTNET_VALIDATION = (r"^System\.(?:ArgumentException|ArgumentNullException|ArgumentOutOfRangeException|FormatException"
                      r"|Text\.Json\.JsonException|ComponentModel\.DataAnnotations\.ValidationException)$"
                      r"|^Newtonsoft\.Json\.Json(?:Reader|Serialization)Exception$")
_DOTNET_CACHE = r"^(?:StackExchange\.Redis|Enyim\.Caching|Microsoft\.Extensions\.Caching)\."
_DOTNET_DATABASE = (r"^(?:System\.Data\.SqlClient|Microsoft\.Data\.SqlClient|Microsoft\.Data\.Sqlite|Npgsql|MySql\.Data"
                    r"|MySqlConnector|Oracle\.ManagedDataAccess|MongoDB\.Driver|Microsoft\.EntityFrameworkCore|Dapper)\."
                    r"|^System\.Data\.(?:Common\.DbException|DBConcurrencyException|DataException)$")
_DOTNET_NETWORK = (r"^System\.Net\.(?:Http\.HttpRequestException|WebException|Sockets\.SocketException"
                   r"|Mail\.SmtpException|Mail\.SmtpFailedRecipientException)$|^Grpc\.Core\.RpcException$"
                   r"|^(?:Amazon|Azure|Google\.Apis|Stripe|Twilio|SendGrid)\.")
_DOTNET_INTERNAL = (r"^System\.(?:NullReferenceException|InvalidOperationException|IndexOutOfRangeException"
                    r"|Collections\.Generic\.KeyNotFoundException|InvalidCastException|NotImplementedException"
                    r"|NotSupportedException|ObjectDisposedException|DivideByZeroException|OverflowException"
                    r"|ArithmeticException|AggregateException|IO\.FileNotFoundException|IO\.DirectoryNotFoundException)$")

DEFAULT_RULES: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    # Process-level failures first: they are critical whatever library raised them.
    ("out-of-memory", "internal_error", "CRITICAL", {"type": r"(?:^|\.)(?:MemoryError|OutOfMemoryError|OutOfMemoryException)$"}),
    ("recursion", "internal_error", "HIGH", {"type": r"(?:^|\.)(?:RecursionError|StackOverflowError|StackOverflowException)$"}),
    # Rate limits, by type then by status/message.
    ("rate-limit-type", "rate_limit_error", "MEDIUM", {"type": r"RateLimit|TooManyRequests|Throttl|QuotaExceeded"}),
    ("rate-limit-message", "rate_limit_error", "MEDIUM",
     {"message": r"\b429\b|rate[ _-]?limit|too many requests|quota exceeded|exceeded your current quota|retry-after|throttl"}),
    # Authentication and authorisation.
    ("auth-type", "auth_error", "CRITICAL",
     {"type": r"Authentication|Unauthori[sz]ed|PermissionDenied|Forbidden|InvalidToken|ExpiredSignature|InvalidSignature"
              r"|AccessDenied|NotAuthenticated|InvalidPassword|InvalidAuthorization|AuthApiError|AuthError$|InsufficientPrivilege"}),
    ("auth-message", "auth_error", "CRITICAL",
     {"message": r"\b401\b|\b403\b|unauthori[sz]ed|forbidden|invalid[ _-]api[ _-]key|incorrect api key|no api key"
                 r"|authentication failed|password authentication failed|invalid (?:jwt|token|credentials)|jwt expired"
                 r"|permission denied|not authenticated|access denied"}),
    # Timeouts (clients, drivers, asyncio).
    ("timeout-type", "timeout_error", "MEDIUM",
     {"type": r"Timeout|TimedOut|DeadlineExceeded|QueryCanceled|ReadTimeout|ConnectTimeout|PoolTimeout"}),
    # .NET: HttpClient reports its timeout as a TaskCanceledException.
    ("dotnet-timeout-type", "timeout_error", "MEDIUM", {"type": _DOTNET_TIMEOUT}),
    ("timeout-message", "timeout_error", "MEDIUM",
     {"message": r"timed? ?out|timeout|deadline exceeded|statement timeout|canceling statement due to|\b504\b|\b408\b|ETIMEDOUT"}),
    # Input validation.
    ("stripe-card", "validation_error", "LOW", {"type": r"^stripe\b.*CardError$"}),
    ("validation-type", "validation_error", "LOW",
     {"type": r"ValidationError|RequestValidationError|JSONDecodeError|UnicodeDecodeError|InvalidRequestError"
              r"|UnprocessableEntity|SchemaError|MarshmallowError|^ValueError$|^(?:\w+\.)*ParseError$"}),
    ("dotnet-validation-type", "validation_error", "LOW", {"type": _DOTNET_VALIDATION}),
    ("validation-message", "validation_error", "LOW",
     {"message": r"\b422\b|validation error|unprocessable entity|invalid input|field required|is not a valid"}),
    # Caches.
    ("cache-type", "cache_error", "LOW",
     {"type": r"^(?:redis|aioredis|valkey|pymemcache|memcache|aiomcache|aiocache|diskcache)\b|CacheError|RedisError|RedisClusterException"}),
    ("dotnet-cache-type", "cache_error", "LOW", {"type": _DOTNET_CACHE}),
    ("cache-message", "cache_error", "LOW", {"message": r"\bredis\b|\bvalkey\b|memcache|:6379\b|:11211\b"}),
    # Databases (drivers, ORMs, Supabase/PostgREST).
    ("database-type", "database_error", "HIGH",
     {"type": r"^(?:asyncpg|psycopg2?|psycopg|sqlalchemy|sqlite3|pymysql|MySQLdb|aiomysql|pymongo|motor|postgrest|supabase"
              r"|prisma|tortoise|peewee|django\.db|databases|sqlmodel|piccolo|edgedb|neo4j|cassandra|clickhouse_connect)\b"
              r"|OperationalError|IntegrityError|ProgrammingError|DatabaseError|InterfaceError|UniqueViolation"
              r"|ForeignKeyViolation|DeadlockDetected|SerializationFailure|TooManyConnections|PostgresError|PostgrestError"}),
    ("dotnet-database-type", "database_error", "HIGH", {"type": _DOTNET_DATABASE}),
    ("database-message", "database_error", "HIGH",
     {"message": r"relation \S+ does not exist|duplicate key value|deadlock detected|could not connect to server"
                 r"|connection to server .* failed|too many connections|remaining connection slots|database is locked"
                 r"|no such table|no such column|syntax error at or near|violates \w+(?: \w+)? constraint|PGRST\d+"
                 r"|server closed the connection unexpectedly|SSL SYSCALL error|:5432\b"}),
    # Payment, e-mail and other SaaS APIs (before the LLM rules: Stripe has an APIConnectionError too).
    ("payment-email-type", "external_service_error", "MEDIUM",
     {"type": r"^(?:stripe|resend|sendgrid|postmark|mailgun|twilio|slack_sdk|github|pusher|algoliasearch|sentry_sdk)\b"
              r"|StripeError|ResendError|SendGridException"}),
    # LLM providers and gateways.
    ("provider-type", "provider_error", "HIGH",
     {"type": _LLM_SDKS + r"|OverloadedError|APIStatusError"}),
    ("provider-message", "provider_error", "HIGH",
     {"message": r"openrouter|portkey|overloaded_error|\b529\b|model_not_found|context_length_exceeded|api\.openai\.com"
                 r"|api\.anthropic\.com|generativelanguage\.googleapis\.com|no (?:available )?providers"}),
    # Errors raised inside a client library (by the library the application called, then by the
    # exception's module): generic types such as ConnectionRefusedError or an httpx error under an SDK.
    ("library-provider", "provider_error", "HIGH", {"library": rf"^(?:{_LLM_LIBS})\b"}),
    ("library-cache", "cache_error", "LOW", {"library": rf"^(?:{_CACHE_LIBS})\b"}),
    ("library-database", "database_error", "HIGH", {"library": rf"^(?:{_DB_LIBS})\b"}),
    ("library-external", "external_service_error", "MEDIUM", {"library": rf"^(?:{_SAAS_LIBS})\b"}),
    ("module-cache", "cache_error", "LOW", {"module": rf"^(?:{_CACHE_LIBS})\b"}),
    ("module-database", "database_error", "HIGH", {"module": rf"^(?:{_DB_LIBS})\b"}),
    ("module-external", "external_service_error", "MEDIUM", {"module": rf"^(?:{_SAAS_LIBS})\b"}),
    ("module-provider", "provider_error", "HIGH", {"module": rf"^(?:{_LLM_LIBS})\b"}),
    # HTTP clients, cloud SDKs and the network.
    ("http-client-type", "external_service_error", "MEDIUM",
     {"type": _HTTP_CLIENTS + r"|HTTPStatusError|HTTPError|ConnectError|ConnectionError|ConnectionRefusedError"
              r"|ConnectionResetError|RemoteProtocolError|ClientResponseError|ClientConnectorError|ServerDisconnected"
              r"|SSLError|gaierror|NewConnectionError|MaxRetryError|ProxyError|BrokenPipeError|FetchError|AxiosError"}),
    ("dotnet-network-type", "external_service_error", "MEDIUM", {"type": _DOTNET_NETWORK}),
    ("network-message", "external_service_error", "MEDIUM",
     {"message": r"connection refused|connection reset|name or service not known|temporary failure in name resolution"
                 r"|\b50[0234]\b|bad gateway|service unavailable|ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|socket hang up"
                 r"|nodename nor servname|network is unreachable|no route to host"}),
    # Everything else is a bug in the application's code.
    ("dotnet-internal-crash", "internal_error", "HIGH", {"type": _DOTNET_INTERNAL}),
    ("internal-crash", "internal_error", "HIGH",
     {"type": r"(?:^|\.)(?:KeyError|AttributeError|TypeError|IndexError|NameError|ZeroDivisionError|AssertionError"
              r"|UnboundLocalError|RuntimeError|ImportError|ModuleNotFoundError|SyntaxError"
              r"|IndentationError|LookupError|StopIteration|ReferenceError|NullPointerException"
              r"|IllegalStateException|IllegalArgumentException|ClassCastException|ArrayIndexOutOfBoundsException)$"}),
)

SUGGESTED_FIXES: dict[str, tuple[bool, str]] = {
    # The default fixability and remedy per category: an operational failure the code can guard
    # against is fixable; bad input (validation_error) and code bugs (internal_error) are not, since a
    # patch there changes behaviour. ``STREAMFIX_FIXABLE_CATEGORIES`` chooses another set.
    "provider_error": (True, "Retry with a fallback provider: retry with exponential backoff, then fall back to another provider or model."),
    "database_error": (True, "Connection pool / retry: use a pooled connection with health checks and retry transient errors."),
    "rate_limit_error": (True, "Exponential backoff: back off and retry honouring the Retry-After header; throttle or queue outgoing calls."),
    "timeout_error": (True, "Increase the timeout / retry: set an explicit, longer timeout on the call and retry with backoff."),
    "auth_error": (True, "Key rotation / refresh: rotate or refresh the credentials (API key, token) and reload them without a restart."),
    "validation_error": (False, "Input validation: validate and normalise the input at the boundary and return a clear client error."),
    "cache_error": (True, "Fallback to source: treat a cache failure as a miss and read from the source, with a short timeout."),
    "external_service_error": (True, "Circuit breaker / retry: wrap the external call in a timeout, retries with backoff and a circuit breaker."),
    "internal_error": (False, "Fix the code at the reported frame: guard the failing operation and add a regression test."),
}
DEFAULT_FIXABLE_CATEGORIES: frozenset[str] = frozenset(name for name, (fixable, _) in SUGGESTED_FIXES.items() if fixable)
"""The categories whose patterns are fixable unless a setting or a user rule says otherwise."""
