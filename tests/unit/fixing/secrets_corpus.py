"""Fifty realistic secret formats with fake values, each inside a realistic log or source line.

Values are assembled from parts so that secret scanners do not flag this file; none of them is a real
credential. Each entry is ``(id, line, secret)``: after redaction ``secret`` must not appear anywhere.
"""

from __future__ import annotations

_A = "aB3dE5fG7hJ9kL2mN4pQ6rS8tU0vW1xY"  # 32 mixed characters
_H = "9f86d081884c7d659a2feaa0c55ad015"  # 32 hex characters
_H64 = _H + "a3bf4f1b2b0b822cd15d6c15b0f00a08"

CORPUS: list[tuple[str, str, str]] = [
    ("anthropic", "client = Anthropic(api_key='{s}')", "sk-ant-" + "api03-" + _A + "Zz9_-Qq" + _A[:20]),
    ("anthropic-admin", "ANTHROPIC_ADMIN={s}", "sk-ant-" + "admin01-" + _A + "x7Y"),
    (
        "openai-legacy",
        "openai.error.AuthenticationError: Incorrect API key provided: {s}",
        "sk-" + _A + "T3Blbk" + "FJ" + _A[:20],
    ),
    ("openai-proj", "OPENAI_API_KEY={s}", "sk-" + "proj-" + _A + _A[:16]),
    ("github-pat", "remote: Invalid username or password. token={s}", "gh" + "p_" + _A + "Ab1c"),
    ("github-oauth", "Authorization: token {s}", "gh" + "o_" + _A + "Zz9y"),
    ("github-fine", "GITHUB_TOKEN={s}", "github" + "_pat_" + "11ABCDEFG0" + _A + "_" + _A[:28]),
    ("github-server", "using installation token {s}", "gh" + "s_" + _A + "Q7w8"),
    (
        "gitlab",
        "git clone https://oauth2:{s}@gitlab.com/acme/app.git",
        "gl" + "pat-" + "xY7zQ2wE9rT4uI1oP3aS",
    ),
    (
        "stripe-live",
        "stripe.error.AuthenticationError: Invalid API Key provided: {s}",
        "sk" + "_live_" + _A[:24],
    ),
    ("stripe-test", "STRIPE_SECRET_KEY={s}", "sk" + "_test_" + "51H" + _A),
    ("stripe-restricted", "rk={s}", "rk" + "_live_" + _A[4:28]),
    ("stripe-webhook", "webhook secret {s} rejected", "wh" + "sec_" + _A),
    (
        "aws-key-id",
        "botocore.exceptions.ClientError: The AWS Access Key Id {s} does not exist",
        "AKIA" + "IOSFODNN7EXAMPLE",
    ),
    ("aws-sts-id", "assumed role with {s}", "ASIA" + "Y34FZKBOKMUTVV7A"),
    ("aws-secret", "aws_secret_access_key = {s}", "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"),
    (
        "slack-bot",
        "slack_sdk.errors.SlackApiError: invalid_auth for {s}",
        "xox" + "b-1234567890-1234567890123-" + _A[:24],
    ),
    ("slack-user", "SLACK_USER_TOKEN={s}", "xox" + "p-1234567890-1234567890-1234567890123-" + _H),
    (
        "slack-webhook",
        "POST {s} failed",
        "https://hooks.slack" + ".com/services/T0ABCDEF1/B0ABCDEF2/" + _A[:24],
    ),
    ("discord-webhook", "webhook={s}", "https://discord" + ".com/api/webhooks/123456789012345678/" + _A + _A),
    ("google-api", "googleapiclient.errors.HttpError: key={s} invalid", "AI" + "za" + "SyD" + _A),
    ("google-oauth-secret", "client_secret: {s}", "GOC" + "SPX-" + _A[:28]),
    ("google-oauth-token", "refreshing {s}", "ya" + "29." + _A + _A[:10]),
    ("twilio-key", "TwilioRestException: HTTP 401 for key {s}", "SK" + _H),
    ("twilio-sid", "account sid {s} suspended", "AC" + _H),
    (
        "sendgrid",
        "python_http_client.exceptions.UnauthorizedError: {s}",
        "SG" + "." + _A[:22] + "." + _A + "abcdefghijk",
    ),
    ("mailgun", "MAILGUN_API_KEY {s}", "key-" + _H),
    ("mailchimp", "mailchimp key {s}", _H + "-us" + "12"),
    ("npm", "//registry.npmjs.org/:_authToken={s}", "npm" + "_" + _A + "1a2B"),
    ("pypi", "twine upload -p {s}", "pypi" + "-AgEIcHlwaS5vcmc" + _A + _A[:12]),
    ("shopify", "X-Shopify-Access-Token: {s}", "shp" + "at_" + _H),
    ("square", "SQUARE_ACCESS_TOKEN={s}", "EAAA" + "l" + _A + "xyz"),
    ("digitalocean", "doctl auth init -t {s}", "do" + "p_v1_" + _H64),
    ("huggingface", "HF_TOKEN={s}", "hf" + "_" + _A + "Qw"),
    ("telegram", "telegram.error.InvalidToken: {s}", "1234567890:AA" + "Hd" + _A[:31]),
    ("datadog", "DD_API_KEY={s}", _H),
    (
        "jwt",
        "jwt.exceptions.ExpiredSignatureError: {s}",
        "eyJ"
        + "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ"
        + "zdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    ),
    (
        "bearer",
        "requests.exceptions.HTTPError: 401 for Authorization: Bearer {s}",
        "Zm9vYmFyYmF6cXV4" + "MTIzNDU2Nzg5MGFi",
    ),
    ("basic-auth", "Authorization: Basic {s}", "YWRtaW46c3VwZXJzZWNy" + "ZXQxMjM="),
    (
        "postgres-dsn",
        "sqlalchemy.exc.OperationalError: postgresql://app:{s}@db.internal:5432/app",
        "Pg_s3cr3t-Passw0rd",
    ),
    ("mysql-dsn", "DATABASE_URL=mysql://root:{s}@10.0.0.5/shop", "hunter2hunter2"),
    ("redis-url", "redis.exceptions.AuthenticationError: redis://default:{s}@cache:6379/0", "r3d1sP4ss"),
    ("amqp-url", "amqp://guest:{s}@rabbit:5672/", "Rabb1tMQpw"),
    (
        "mongodb-srv",
        "pymongo.errors.OperationFailure: mongodb+srv://svc:{s}@cluster0.mongodb.net/db",
        "m0ng0-Pa55",
    ),
    ("password-kv", "login failed user=bob password={s}", "CorrectHorse9Battery"),
    ("password-json", '{{"username": "bob", "password": "{s}"}}', "Tr0ub4dor&3"),
    ("client-secret", "client_secret={s}&grant_type=client_credentials", "c9f1b2d3e4a5968778695a4b3c2d1e0f"),
    ("email", "ValueError: no account for {s}", "jane.doe+billing@example-corp.com"),
    (
        "private-key",
        "key = '''{s}'''",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq3"
        + _A
        + "\n"
        + _A
        + "==\n-----END RSA PRIVATE KEY-----",
    ),
    ("high-entropy", "cache key mismatch for session {s}", "q8Zr4Lk2Vx9Tn6Pw3Hs7Jd5Fb1Gm0Yc" + "Ua8Re"),
]

assert len(CORPUS) == 50, len(CORPUS)


def lines() -> list[tuple[str, str, str]]:
    """``(id, full line, secret)`` for every entry."""
    return [(cid, template.format(s=secret), secret) for cid, template, secret in CORPUS]
