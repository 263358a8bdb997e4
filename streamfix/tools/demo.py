"""``streamfix demo``: the whole pipeline on bundled sample logs, on a real local Kafka.

Starts the local broker when none is configured and answering, starts a worker process with topics of
its own, replays the sample Railway logs one stream per service, waits until every error the core finds
in them is counted in the worker's patterns table, prints the patterns, and stops what it started.

The sample's timestamps are moved so that its newest line is a second old: the replayed errors are then
"recent" for every ``?hours=H`` route, as they would be for a live service.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from streamfix.core.pipeline import run_batch
from streamfix.errors import StreamfixError
from streamfix.kafka.clients import Publisher, ensure_topics
from streamfix.runtime.settings import Settings
from streamfix.tools.procs import running
from streamfix.tools.replay import batches, read_lines

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@dataclass
class DemoResult:
    patterns: list[dict[str, Any]]
    expected_events: int
    lines: int


def split_by_service(lines: list[str]) -> dict[str, list[str]]:
    """Railway JSON lines of several services, one list per service (file order kept)."""
    out: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        service = "app"
        if line.startswith("{"):
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                obj = None
            if isinstance(obj, dict):
                service = str(
                    obj.get("service") or obj.get("serviceName") or obj.get("railway_service") or "app"
                )
        out[service].append(line)
    return dict(out)


def _parse_ts(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def shift_to_recent(lines: list[str], now: float, *, lag: float = 1.0) -> list[str]:
    """Railway JSON lines with every ``timestamp`` moved by one offset so the newest is ``now - lag``.

    Spacing between lines is kept; lines that are not JSON objects or carry no RFC 3339 timestamp are
    returned unchanged.
    """
    stamps = [_parse_ts(_obj(line).get("timestamp")) for line in lines]
    known = [t for t in stamps if t is not None]
    if not known:
        return list(lines)
    offset = (now - lag) - max(known)
    out: list[str] = []
    for line, ts in zip(lines, stamps, strict=True):
        if ts is None:
            out.append(line)
            continue
        obj = _obj(line)
        obj["timestamp"] = datetime.fromtimestamp(ts + offset, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out.append(orjson.dumps(obj).decode())
    return out


def _obj(line: str) -> dict[str, Any]:
    if not line.startswith("{"):
        return {}
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return {}
    return obj if isinstance(obj, dict) else {}


def expected_occurrences(streams: dict[str, list[str]]) -> int:
    """Events the worker must count: the core run over each stream (open tracebacks stay open, as there)."""
    return sum(len(run_batch(lines).events) for lines in streams.values())


async def _publish(settings: Settings, streams: dict[str, list[str]]) -> int:
    await ensure_topics(settings)
    run = uuid.uuid4().hex[:8]
    total = 0
    async with Publisher(settings) as pub:
        for service, lines in streams.items():
            for batch in batches(
                lines,
                stream=f"replay:{service}",
                source="replay",
                labels={"service": service},
                size=settings.batch_max_lines,
                fmt="railway",
                run_id=run,
            ):
                await pub.send_batch(batch)
                total += len(batch.lines)
        await pub.flush()
    return total


def run_demo(
    settings: Settings,
    sample: Path,
    *,
    timeout: float = 120.0,
    log_path: Path | None = None,
    api_token: str | None = None,
    hold: Callable[[DemoResult], None] | None = None,
) -> DemoResult:
    """Replay ``sample`` through a worker of its own; ``hold(result)`` runs while that worker still serves."""
    streams = split_by_service(shift_to_recent(list(read_lines(sample)), time.time()))
    expected = expected_occurrences(streams)
    log_file = log_path or Path(settings.data_dir) / "demo-worker.log"
    token = api_token or secrets.token_urlsafe(18)
    # one HTTP client for the polling: a new one per request builds a TLS context each time
    with running(settings, log_file, STREAMFIX_API_TOKEN=token) as worker, \
            httpx.Client(timeout=2.0) as client:
        lines = asyncio.run(_publish(settings, streams))
        url = f"http://127.0.0.1:{settings.web_port}/error-monitor/errors/patterns"
        deadline = time.monotonic() + timeout
        patterns: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            if worker.poll() is not None:
                raise StreamfixError(f"the worker exited with {worker.returncode}; see {log_file}")
            try:
                patterns = client.get(url).json()["patterns"]
            except (httpx.HTTPError, ValueError, KeyError):
                patterns = []
            if sum(int(p["count"]) for p in patterns) >= expected:
                break
            time.sleep(0.2)
        else:
            raise StreamfixError(
                f"patterns did not reach {expected} events within {timeout:.0f} s; see {log_file}"
            )
        result = DemoResult(patterns=patterns, expected_events=expected, lines=lines)
        if hold is not None:
            hold(result)
    return result


def try_commands(base: str, token: str, fingerprint: str | None) -> list[str]:
    """The API calls a person tries first, as curl commands against a running demo."""
    cmds = [f"curl {base}/health"]
    cmds += [f"curl '{base}/errors/{kind}?hours=1'" for kind in ("recent", "critical", "fixable")]
    cmds += [f"curl '{base}/errors/patterns'", f"curl '{base}/dashboard?hours=1'"]
    if fingerprint:
        cmds.append(f"curl {base}/patterns/{fingerprint}")
        cmds.append(
            f"curl -X POST -H 'Authorization: Bearer {token}' "
            f"'{base}/fixes/generate-for-error?error_id={fingerprint}&create_pr=false'"
        )
    return cmds


def format_table(patterns: list[dict[str, Any]]) -> str:
    rows = [("CATEGORY", "SEVERITY", "COUNT", "FINGERPRINT", "ERROR", "WHERE")]
    for p in patterns:
        where = f"{p.get('file') or '?'}:{p.get('line') or '?'} in {p.get('function') or '?'}"
        rows.append(
            (
                str(p["category"]),
                str(p["severity"]),
                str(p["count"]),
                str(p["fingerprint"])[:20],
                str(p["error_type"])[:40],
                where[-60:],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows)
