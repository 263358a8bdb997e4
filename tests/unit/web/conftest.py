"""An in-process API over plain-dict tables: the real app, views and middleware, no Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from streamfix.core.patterns import Pattern, apply_event
from streamfix.kafka.publish import MemoryPublisher
from streamfix.runtime.app import StreamfixApp, create_app
from streamfix.runtime.settings import Settings
from streamfix.web import CONTEXT_KEY
from streamfix.web.context import ApiContext, MappingReader

TOKEN = "s3cret-token"
NOW = 1_764_324_000.0  # 2025-11-28 10:00 UTC
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def event(
    fp: str,
    *,
    category: str = "database",
    severity: str = "HIGH",
    fixable: bool = True,
    ts: float = NOW - 60,
    offset: int = 0,
    occurrences: int = 1,
    service: str = "api",
) -> dict[str, Any]:
    return {
        "fingerprint": fp,
        "error_type": f"Err{fp[-2:]}",
        "message": f"boom {fp}",
        "category": category,
        "severity": severity,
        "fixable": fixable,
        "suggested_fix": "retry",
        "file": "/app/x.py",
        "line": 7,
        "function": "f",
        "frames": [{"file": "/app/x.py", "line": 7, "function": "f", "in_app": True}],
        "traceback": f'Traceback (most recent call last):\n  File "/app/x.py", line 7, in f\nErr: boom {fp}',
        "timestamp": ts,
        "detected_at": ts,
        "occurrences": occurrences,
        "service": service,
        "source_partition": 0,
        "source_offset": offset,
        "event_index": 0,
    }


def build_patterns(events: list[dict[str, Any]]) -> dict[str, Pattern]:
    out: dict[str, Pattern] = {}
    for e in events:
        new = apply_event(out.get(e["fingerprint"]), e, window_seconds=60, retention_seconds=86400)
        assert new is not None
        out[e["fingerprint"]] = new
    return out


def sample_events() -> list[dict[str, Any]]:
    return [
        event("fp1:aa01", category="database", severity="CRITICAL", offset=1),
        event("fp1:aa01", category="database", severity="CRITICAL", offset=2, ts=NOW - 600),
        event("fp1:aa02", category="network", severity="HIGH", offset=3, occurrences=4),
        event("fp1:aa03", category="network", severity="MEDIUM", fixable=False, offset=4, ts=NOW - 7200),
        event("fp1:aa04", category="validation", severity="LOW", fixable=False, offset=5, ts=NOW - 3 * 86400),
    ]


def fix_result(fp: str, fix_id: str, status: str, updated: float, pr: int | None = None) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "fix_id": fix_id,
        "request_id": f"{fp}#1",
        "fingerprint": fp,
        "status": status,
        "category": "database",
        "severity": "CRITICAL",
        "error_type": "Err01",
        "message": "boom",
        "branch": None,
        "commit_sha": None,
        "pr_number": pr,
        "pr_url": f"https://github.com/o/r/pull/{pr}" if pr else None,
        "root_cause": "",
        "explanation": "",
        "confidence": 0.9,
        "fixability": None,
        "diff": "",
        "suggested_fix": "",
        "error": "",
        "input_tokens": 10,
        "output_tokens": 5,
        "created_at": updated - 5,
        "updated_at": updated,
    }


@dataclass
class Api:
    client: TestClient[web.Request, web.Application]
    sf: StreamfixApp
    ctx: ApiContext
    tables: dict[str, dict[str, Any]]
    transport: MemoryPublisher = field(default_factory=MemoryPublisher)

    @property
    def published(self) -> list[tuple[str, str, Any]]:
        """``(role, key, JSON object)`` of every record published, in order."""
        return [(s.role, s.key, orjson.loads(s.value)) for sent in self.transport.sent.values() for s in sent]


ApiFactory = Callable[..., Any]


@pytest.fixture
async def make_api(tmp_path: Path) -> AsyncIterator[ApiFactory]:
    clients: list[TestClient[web.Request, web.Application]] = []

    async def factory(*, events: list[dict[str, Any]] | None = None, fixes: dict[str, Any] | None = None,
                      **overrides: Any) -> Api:
        options: dict[str, Any] = {"api_token": TOKEN, "api_rate_limit": 0.0, "api_cache_seconds": 0.0,
                                   "app_id": "unit", "data_dir": tmp_path / "worker"}
        options.update(overrides)
        sf = create_app(Settings(**options))
        ctx: ApiContext = sf.state[CONTEXT_KEY]
        tables: dict[str, dict[str, Any]] = {
            "patterns": build_patterns(sample_events() if events is None else events),
            "fixes": fixes if fixes is not None else {
                "fp1:aa01": {"fix-1": fix_result("fp1:aa01", "fix-1", "pr_open", NOW - 30, pr=12)}},
            "fix_state": {"fp1:aa01": {"attempt": 1, "status": "pr_open", "updated_at": NOW - 30,
                                       "request_id": "fp1:aa01#1"}},
        }
        ctx.reader = MappingReader(tables)
        ctx.clock = lambda: NOW
        api = Api(client=None, sf=sf, ctx=ctx, tables=tables)  # type: ignore[arg-type]
        ctx.publisher = api.transport
        client: TestClient[web.Request, web.Application] = TestClient(TestServer(sf.app.web.web_app))  # type: ignore[attr-defined]
        await client.start_server()
        clients.append(client)
        api.client = client
        return api

    yield factory
    for client in clients:
        await client.close()
