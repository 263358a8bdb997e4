"""A fake Loki HTTP server on 127.0.0.1 (aiohttp) with the documented wire shapes.

* ``GET /loki/api/v1/query_range``: ``query`` (a ``{k="v",...}`` selector), ``start`` (inclusive),
  ``end`` (exclusive), ns epochs or RFC 3339; ``limit`` (default 100, above 5000 → 400) and
  ``direction`` (``forward``/``backward``, default backward). Entries are taken in time order
  (ties in insertion order) across all matching streams and returned grouped by stream.
* ``GET /loki/api/v1/tail`` (websocket): sends ``{"streams":[...],"dropped_entries":[...]}`` frames,
  first the stored entries from ``start``, then whatever tests put on :attr:`FakeLoki.tail_frames`.
* ``POST /loki/api/v1/push``: JSON, optionally gzip; a non-string timestamp gets a 400.

``token``/``basic``/``org_id`` make it require ``Authorization`` and ``X-Scope-OrgID`` (401 otherwise).
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from aiohttp import WSMsgType, web

MAX_ENTRIES = 5000
_SELECTOR = re.compile(r'(\w+)\s*(=~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


def parse_time(value: str) -> int:
    if value.lstrip("-").isdigit():
        return int(value)
    digits = ""
    m = re.match(r"^(.*?T\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)$", value)
    if not m:
        raise ValueError(value)
    base, digits, zone = m.group(1), m.group(2) or "", m.group(3)
    zone = "+00:00" if zone in ("Z", "z", "") else zone
    seconds = int(datetime.fromisoformat(base + zone).timestamp())
    return seconds * 1_000_000_000 + (int((digits + "000000000")[:9]) if digits else 0)


def matches(selector: str, labels: dict[str, str]) -> bool:
    for key, op, value in _SELECTOR.findall(selector):
        have = labels.get(key, "")
        if (op == "=" and have != value) or (op == "!=" and have == value):
            return False
        if op == "=~" and not re.fullmatch(value, have):
            return False
    return True


class FakeLoki:
    """``async with FakeLoki() as loki: loki.add({"app": "a"}, ts_ns, "line"); loki.url``."""

    def __init__(self, *, token: str | None = None, basic: tuple[str, str] | None = None,
                 org_id: str | None = None, tail_enabled: bool = True) -> None:
        self.entries: list[tuple[int, int, tuple[tuple[str, str], ...], str]] = []
        self.pushed: list[dict[str, Any]] = []
        self.push_requests: list[dict[str, str]] = []
        self.requests: list[dict[str, str]] = []
        self.tail_frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.push_status = 204
        self.tail_enabled = tail_enabled
        self.pushed_event = asyncio.Event()
        self._token, self._basic, self._org_id = token, basic, org_id
        self._runner: web.AppRunner | None = None
        self.url = ""

    def add(self, labels: dict[str, str], ts_ns: int, line: str) -> None:
        self.entries.append((ts_ns, len(self.entries), tuple(sorted(labels.items())), line))

    def add_many(self, items: Iterable[tuple[dict[str, str], int, str]]) -> None:
        for labels, ts, line in items:
            self.add(labels, ts, line)

    async def __aenter__(self) -> FakeLoki:
        app = web.Application()
        app.router.add_get("/loki/api/v1/query_range", self._query_range)
        app.router.add_get("/loki/api/v1/tail", self._tail)
        app.router.add_post("/loki/api/v1/push", self._push)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _denied(self, request: web.Request) -> web.Response | None:
        auth = request.headers.get("Authorization", "")
        if self._token is not None and auth != f"Bearer {self._token}":
            return web.Response(status=401, text="authentication failed\n")
        if self._basic is not None:
            want = "Basic " + base64.b64encode(f"{self._basic[0]}:{self._basic[1]}".encode()).decode()
            if auth != want:
                return web.Response(status=401, text="authentication failed\n")
        if self._org_id is not None and request.headers.get("X-Scope-OrgID") != self._org_id:
            return web.Response(status=401, text="no org id\n")
        return None

    def _select(
        self, query: str, start: int, end: int
    ) -> list[tuple[int, int, tuple[tuple[str, str], ...], str]]:
        picked = [e for e in self.entries if start <= e[0] < end and matches(query, dict(e[2]))]
        picked.sort(key=lambda e: (e[0], e[1]))
        return picked

    @staticmethod
    def _group(entries: list[tuple[int, int, tuple[tuple[str, str], ...], str]]) -> list[dict[str, Any]]:
        streams: dict[tuple[tuple[str, str], ...], list[list[str]]] = {}
        for ts, _, labels, line in entries:
            streams.setdefault(labels, []).append([str(ts), line])
        return [{"stream": dict(labels), "values": values} for labels, values in streams.items()]

    async def _query_range(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        q = request.query
        self.requests.append(dict(q))
        try:
            limit = int(q.get("limit", "100"))
            start = parse_time(q["start"]) if "start" in q else 0
            end = parse_time(q["end"]) if "end" in q else 2**63 - 1
        except (ValueError, KeyError) as exc:
            return web.Response(status=400, text=f"invalid parameter: {exc}\n")
        if limit > MAX_ENTRIES:
            return web.Response(
                status=400,
                text=f"max entries limit per query exceeded, limit > max_entries_limit ({limit} > {MAX_ENTRIES})\n",  # noqa: E501
            )
        direction = q.get("direction", "backward")
        picked = self._select(q.get("query", ""), start, end)
        if direction == "backward":
            picked = sorted(picked, key=lambda e: (-e[0], e[1]))
        picked = picked[:limit]
        body = {"status": "success", "data": {"resultType": "streams", "result": self._group(picked),
                                              "stats": {}}}
        return web.json_response(body)

    async def _tail(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._denied(request)) is not None:
            return denied
        if not self.tail_enabled:
            return web.Response(status=404, text="404 page not found\n")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        q = request.query
        start = parse_time(q["start"]) if "start" in q else 0
        initial = self._select(q.get("query", ""), start, 2**63 - 1)[: int(q.get("limit", "100"))]
        if initial:
            await ws.send_str(json.dumps({"streams": self._group(initial), "dropped_entries": []}))
        while not ws.closed:
            getter = asyncio.ensure_future(self.tail_frames.get())
            closer = asyncio.ensure_future(ws.receive())
            done, _ = await asyncio.wait({getter, closer}, return_when=asyncio.FIRST_COMPLETED)
            if closer in done:
                getter.cancel()
                msg = closer.result()
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR, WSMsgType.CLOSING):
                    break
                continue
            closer.cancel()
            frame = getter.result()
            if frame.get("close"):
                await ws.close()
                break
            await ws.send_str(json.dumps(frame))
        return ws

    async def _push(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        raw = await request.read()
        if raw[:2] == b"\x1f\x8b":  # aiohttp may already have undone Content-Encoding: gzip
            raw = gzip.decompress(raw)
        self.push_requests.append(dict(request.headers))
        if self.push_status >= 300:
            return web.Response(status=self.push_status, text="Loki is unavailable\n")
        try:
            body = json.loads(raw)
            for stream in body["streams"]:
                for value in stream["values"]:
                    if not isinstance(value[0], str):
                        return web.Response(status=400, text="error parsing timestamp: must be a string\n")
                    int(value[0])
        except (ValueError, KeyError, TypeError) as exc:
            return web.Response(status=400, text=f"invalid push body: {exc}\n")
        for stream in body["streams"]:
            self.pushed.append(stream)
            for ts, line, *_ in stream["values"]:
                self.add(stream["stream"], int(ts), line)
        self.pushed_event.set()
        return web.Response(status=204)
