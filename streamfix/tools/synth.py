"""Deterministic synthetic Railway log streams for benchmarks, load tests and the demo.

Lines are ``railway logs --json`` objects: ``message``, ``timestamp`` (strictly increasing per stream,
since the CLI drops lines whose timestamp does not advance), ``level`` and the service attributes. About
``error_rate`` of the lines belong to errors: Python tracebacks of several client libraries and
error-level log lines, with variable values (ids, durations, addresses) so grouping has work to do.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import orjson

SERVICES = ("api", "worker", "billing", "notifier")

_INFO = (
    "GET /api/v1/users/{n} 200 {ms}ms",
    "POST /api/v1/orders 201 {ms}ms",
    "job {hex} finished in {ms}ms",
    "cache hit ratio {pct}% over {n} keys",
    "connected to postgres pool size={small}",
    "handled webhook evt_{hex} from stripe",
    "user {n} logged in from 10.0.{small}.{small}",
    "no error in batch {n}: all {small} records ok",
)

_TRACEBACKS: tuple[tuple[tuple[tuple[str, int, str, str], ...], str], ...] = (
    ((("/app/src/api/users.py", 42, "get_user", "return USERS[user_id]"),), "KeyError: 'u-{n}'"),
    (
        (
            ("/app/src/worker/jobs.py", 88, "sync_account", "resp = client.get(url, timeout=5)"),
            ("/usr/local/lib/python3.11/site-packages/httpx/_client.py", 1066, "get", "return self.request("),
        ),
        "httpx.ReadTimeout: timed out after {ms}ms",
    ),
    (
        (
            ("/app/src/billing/charges.py", 131, "create_charge", "rows = await conn.fetch(SQL, order_id)"),
            (
                "/usr/local/lib/python3.11/site-packages/asyncpg/connection.py",
                690,
                "fetch",
                "return await self._execute(",
            ),
        ),
        'asyncpg.exceptions.UniqueViolationError: duplicate key value violates unique constraint "charges_pkey" (order {n})',  # noqa: E501
    ),
    (
        (
            (
                "/app/src/notifier/send.py",
                57,
                "send_summary",
                "out = await llm.chat.completions.create(**req)",
            ),
            (
                "/usr/local/lib/python3.11/site-packages/openai/_base_client.py",
                1594,
                "_request",
                "raise self._make_status_error",
            ),
        ),
        "openai.RateLimitError: Error code: 429 - rate limit reached for requests, retry after {small}s",
    ),
    (
        (
            ("/app/src/api/cache.py", 23, "get_cached", "return self.redis.get(key)"),
            (
                "/usr/local/lib/python3.11/site-packages/redis/connection.py",
                707,
                "connect",
                "raise ConnectionError(self._error_message(e))",
            ),
        ),
        "redis.exceptions.ConnectionError: Error 111 connecting to 10.0.{small}.{small}:6379. Connection refused.",  # noqa: E501
    ),
)

_ERROR_LINES = (
    "payment failed for order {n}: card_declined",
    "upstream 503 from https://api.partner.example/v2/items/{n} after {ms}ms",
    "authentication failed for user {n}: invalid token",
    "login failed for user {word}: bad password",
)


def _word(n: int) -> str:
    """A letters-only name for ``n`` (a value that parameterisation rules cannot see as a variable)."""
    letters = "bcdfghjklmnpqrstvwxz"
    out = ""
    n += 20 * 20
    while n:
        n, digit = divmod(n, 20)
        out += letters[digit] + "aeiou"[digit % 5]
    return out


@dataclass
class SynthStream:
    service: str
    deployment: str
    replica: str
    t_ms: int

    @property
    def key(self) -> str:
        return f"railway:{self.service}:{self.deployment}:{self.replica}"


class Synth:
    """Generates ``(stream key, line)`` pairs; the same seed gives the same lines."""

    def __init__(
        self, seed: int = 7, error_rate: float = 0.02, streams: int = 4, distinct: int | None = None
    ) -> None:
        self.rng = random.Random(seed)
        self.error_rate = error_rate
        self.distinct = distinct
        self.streams = [
            SynthStream(
                SERVICES[i % len(SERVICES)], f"dep-{i:02d}", f"r{i // len(SERVICES)}", 1_795_000_000_000
            )
            for i in range(streams)
        ]
        self._counter = 0

    def _values(self) -> dict[str, object]:
        rng = self.rng
        self._counter += 1
        n = self._counter if self.distinct is None else self._counter % self.distinct
        return {"n": n, "ms": rng.randrange(1, 30_000), "hex": f"{rng.getrandbits(48):012x}",
                "pct": rng.randrange(100), "small": rng.randrange(1, 250), "word": _word(n)}

    def _line(self, stream: SynthStream, message: str, level: str) -> str:
        stream.t_ms += 1
        seconds, ms = divmod(stream.t_ms, 1000)
        ts = f"{seconds}.{ms:03d}"
        return orjson.dumps({"message": message, "timestamp": ts, "level": level, "service": stream.service,
                             "deployment": stream.deployment, "replica": stream.replica}).decode()

    def unit(self) -> tuple[SynthStream, list[str], bool]:
        """One log unit of a random stream: a plain line, an error line or a whole traceback."""
        rng = self.rng
        stream = rng.choice(self.streams)
        values = self._values()
        if rng.random() >= self.error_rate / 4:  # a traceback is about 4-6 lines
            return stream, [self._line(stream, rng.choice(_INFO).format(**values), "info")], False
        if rng.random() < 0.2:
            return stream, [self._line(stream, rng.choice(_ERROR_LINES).format(**values), "error")], True
        frames, exc = rng.choice(_TRACEBACKS)
        lines = [self._line(stream, "Traceback (most recent call last):", "error")]
        for path, lineno, func, code in frames:
            lines.append(self._line(stream, f'  File "{path}", line {lineno}, in {func}', "error"))
            lines.append(self._line(stream, f"    {code}", "error"))
        lines.append(self._line(stream, exc.format(**values), "error"))
        return stream, lines, True

    def lines(self, count: int) -> Iterator[tuple[str, str]]:
        """At least ``count`` lines (whole units), as (stream key, line)."""
        produced = 0
        while produced < count:
            stream, lines, _ = self.unit()
            for line in lines:
                yield stream.key, line
            produced += len(lines)
