"""A fake Anthropic Messages API on 127.0.0.1, so the real ``anthropic`` SDK runs end to end.

``POST /v1/messages`` answers from a script: each request takes the next :class:`Reply` from
``script`` (or asks ``responder(body)`` when the script is empty). A reply is a forced ``tool_use``
answer, an API error (429 with ``retry-after``, 529 ``overloaded_error``, 500...), or a slow answer that
is held until the test sets its ``release`` event. Every request body and its headers are recorded
in ``requests``, and ``request_seen`` is notified after each, so tests await instead of sleeping. The key
is accepted in ``x-api-key`` or as ``Authorization: Bearer`` (newer SDKs send the latter).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.local_http import LocalHTTPServer

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}


@dataclass
class Reply:
    status: int = 200
    tool_input: dict[str, Any] | None = None
    tool_name: str = "propose_fix"
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    release: threading.Event | None = None  # hold the answer until set (slow response)
    input_tokens: int = 1200
    output_tokens: int = 300


def tool_reply(**tool_input: Any) -> Reply:
    return Reply(tool_input=tool_input)


def error_reply(status: int, **headers: str) -> Reply:
    return Reply(status=status, headers=dict(headers))


class FakeAnthropic(LocalHTTPServer):
    def __init__(self, *, api_key: str = "sk-ant-test-key") -> None:
        self.api_key = api_key
        self.script: deque[Reply] = deque()
        self.responder: Callable[[dict[str, Any]], Reply] | None = None
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.request_seen = threading.Condition()
        self.in_flight = 0
        self.max_in_flight = 0
        self._serve(self._handler())

    def stop(self) -> None:
        for reply in self.script:
            if reply.release is not None:
                reply.release.set()
        super().stop()

    def wait_for_requests(self, n: int, timeout: float = 30.0) -> bool:
        with self.request_seen:
            return self.request_seen.wait_for(lambda: len(self.requests) >= n, timeout)

    def raw_bodies(self) -> str:
        return "\n".join(json.dumps(body) for body in self.requests)

    def _next(self, body: dict[str, Any]) -> Reply:
        if self.script:
            return self.script.popleft()
        if self.responder is not None:
            return self.responder(body)
        return Reply(status=500)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.split("?")[0] != "/v1/messages":
                    self._send(
                        404, {"type": "error", "error": {"type": "not_found_error", "message": "no route"}}
                    )
                    return
                reply = fake._next(body)
                with fake.request_seen:
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                    fake.requests.append(body)
                    fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                    fake.request_seen.notify_all()
                try:
                    self._answer(reply, body)
                finally:
                    with fake.request_seen:
                        fake.in_flight -= 1

            def _answer(self, reply: Reply, body: dict[str, Any]) -> None:
                bearer = self.headers.get("authorization", "").removeprefix("Bearer ")
                if fake.api_key not in (self.headers.get("x-api-key"), bearer):
                    self._send(401, _error(401, "invalid x-api-key"))
                    return
                if reply.release is not None:
                    reply.release.wait(60)
                if reply.status != 200:
                    self._send(reply.status, _error(reply.status, "scripted failure"), reply.headers)
                    return
                self._send(200, _message(body, reply), reply.headers)

            def _send(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.send_header("request-id", f"req_{len(fake.requests):04d}")
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    return

        return Handler


def _error(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message}}


def _message(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if reply.text is not None:
        content.append({"type": "text", "text": reply.text})
    if reply.tool_input is not None:
        content.append(
            {"type": "tool_use", "id": "toolu_01", "name": reply.tool_name, "input": reply.tool_input}
        )
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "unknown"),
        "content": content,
        "stop_reason": "tool_use" if reply.tool_input is not None else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
    }
