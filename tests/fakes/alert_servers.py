"""Fake Slack, Discord, PagerDuty, Opsgenie and generic-webhook endpoints on 127.0.0.1, one threaded
HTTP server, each service at its own path and with its documented request checks and answers:

* Slack incoming webhook ``POST /slack/services/T0/B0/X``: JSON with ``text`` or ``blocks`` (else
  ``400 no_text``; bad JSON ``400 invalid_payload``; a header over 150 or a section over 3000
  characters, more than 10 fields or an unknown block ``400 invalid_blocks``); ``200 ok`` (text/html).
* Discord ``POST /discord/api/webhooks/1/tok``: ``content`` or ``embeds`` (else ``400 {"code": 50006,
  "message": "Cannot send an empty message"}``); at most 10 embeds; ``?wait=true`` → ``200`` with the
  message object, else ``204``; over 6000 characters of embed text in one message, or an empty field,
  ``400 {"code": 50035}``. Rate limited: ``429`` ``{"message": "You are being rate limited.",
  "retry_after": s, "global": false}`` and ``Retry-After``.
* PagerDuty ``POST /pagerduty/v2/enqueue``: ``routing_key`` of 32 characters, ``event_action`` in
  trigger/acknowledge/resolve, ``dedup_key`` required for resolve, ``payload.summary/source/severity``
  for trigger (else ``400 {"status": "invalid event", "message": "Event object is invalid", "errors":
  [...]}``); ``202 {"status": "success", "message": "Event processed", "dedup_key"}``.
* Opsgenie ``POST /opsgenie/v2/alerts`` and ``POST /opsgenie/v2/alerts/{alias}/close?identifierType=alias``:
  ``Authorization: GenieKey <key>`` (else ``401``), ``message`` ≤ 130 chars (else ``422``);
  ``202 {"result": "Request will be processed", "took", "requestId"}``.
* Webhook ``POST /hook``: checks ``X-Streamfix-Signature`` against the shared secret (else ``401``).

``fail(service, responses)`` queues error answers (status, headers, body) given before the real one;
``outage(service, [(until, answer), ...])`` gives each answer until its Unix time (500s, then 429s with
``Retry-After``, say). ``received[service]`` lists accepted bodies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.local_http import LocalHTTPServer

Answer = tuple[int, dict[str, str], bytes]
PD_KEY = "0123456789abcdef0123456789abcdef"
OG_KEY = "00000000-1111-2222-3333-444444444444"
HOOK_SECRET = "hook-shared-secret"


class FakeAlertServices(LocalHTTPServer):
    def __init__(self) -> None:
        self.received: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.requests: dict[str, int] = defaultdict(int)
        self.headers: dict[str, list[dict[str, str]]] = defaultdict(list)
        self._queued: dict[str, deque[Answer]] = defaultdict(deque)
        self._outages: dict[str, list[tuple[float, Answer]]] = {}
        self._lock = threading.Lock()
        self._serve(self._handler())

    # --- test controls ----------------------------------------------------------------------------
    def fail(self, service: str, answers: list[Answer]) -> None:
        with self._lock:
            self._queued[service].extend(answers)

    def outage(self, service: str, phases: list[tuple[float, Answer]]) -> None:
        with self._lock:
            self._outages[service] = sorted(phases, key=lambda p: p[0])

    def url(self, service: str) -> str:
        paths = {
            "slack": "/slack/services/T0/B0/X",
            "discord": "/discord/api/webhooks/1/tok",
            "pagerduty": "/pagerduty/v2/enqueue",
            "opsgenie": "/opsgenie",
            "webhook": "/hook",
        }
        return self.base_url + paths[service]

    # --- the services -----------------------------------------------------------------------------
    def _answer(
        self,
        service: str,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
    ) -> Answer:
        with self._lock:
            self.requests[service] += 1
            now = time.time()
            for until, answer in self._outages.get(service, []):
                if now < until:
                    return answer
            if self._queued[service]:
                return self._queued[service].popleft()
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        handler = getattr(self, f"_{service}")
        status, out_headers, out = handler(path, query, headers, data)
        if status < 300:
            with self._lock:
                self.received[service].append({"path": path, "query": query, "body": data})
                self.headers[service].append(headers)
        return status, out_headers, out

    @staticmethod
    def _json(status: int, value: object) -> Answer:
        return status, {"Content-Type": "application/json"}, json.dumps(value).encode()

    def _slack(self, path: str, query: dict[str, list[str]], headers: dict[str, str], data: Any) -> Answer:
        if not isinstance(data, dict):
            return 400, {"Content-Type": "text/html"}, b"invalid_payload"
        if not data.get("text") and not data.get("blocks"):
            return 400, {"Content-Type": "text/html"}, b"no_text"
        limits = {"header": 150, "section": 3000}
        for block in data.get("blocks") or []:
            kind = block.get("type")
            text = (block.get("text") or {}).get("text", "")
            if kind not in ("header", "section", "actions", "context", "divider") or len(text) > limits.get(
                kind, 3000
            ):
                return 400, {"Content-Type": "text/html"}, b"invalid_blocks"
            if len(block.get("fields") or []) > 10:
                return 400, {"Content-Type": "text/html"}, b"invalid_blocks"
        return 200, {"Content-Type": "text/html"}, b"ok"

    def _discord(self, path: str, query: dict[str, list[str]], headers: dict[str, str], data: Any) -> Answer:
        if not isinstance(data, dict):
            return self._json(400, {"code": 50109, "message": "The request body contains invalid JSON."})
        if not data.get("content") and not data.get("embeds"):
            return self._json(400, {"code": 50006, "message": "Cannot send an empty message"})
        embeds = data.get("embeds") or []
        text = sum(
            len(e.get("title", ""))
            + len(e.get("description", ""))
            + len((e.get("footer") or {}).get("text", ""))
            + sum(len(f.get("name", "")) + len(f.get("value", "")) for f in e.get("fields", []))
            for e in embeds
        )
        bad_field = any(not f.get("name") or not f.get("value") for e in embeds for f in e.get("fields", []))
        if len(embeds) > 10 or len(data.get("content") or "") > 2000 or text > 6000 or bad_field:
            return self._json(400, {"code": 50035, "message": "Invalid Form Body"})
        if query.get("wait") == ["true"]:
            return self._json(
                200,
                {
                    "id": str(uuid.uuid4().int >> 64),
                    "type": 0,
                    "content": data.get("content", ""),
                    "embeds": data.get("embeds", []),
                    "webhook_id": "1",
                },
            )
        return 204, {}, b""

    def _pagerduty(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str], data: Any
    ) -> Answer:
        errors = []
        if not isinstance(data, dict):
            return self._json(
                400,
                {"status": "invalid event", "message": "Event object is invalid", "errors": ["Invalid JSON"]},
            )
        if not isinstance(data.get("routing_key"), str) or len(data["routing_key"]) != 32:
            errors.append("'routing_key' is invalid")
        action = data.get("event_action")
        if action not in ("trigger", "acknowledge", "resolve"):
            errors.append("'event_action' is invalid")
        if action in ("acknowledge", "resolve") and not data.get("dedup_key"):
            errors.append("'dedup_key' is missing or blank")
        if action == "trigger":
            payload = data.get("payload") or {}
            for key in ("summary", "source", "severity"):
                if not payload.get(key):
                    errors.append(f"'payload.{key}' is missing or blank")
            if payload.get("severity") not in ("critical", "error", "warning", "info"):
                errors.append("'payload.severity' is invalid")
        if errors:
            return self._json(
                400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
            )
        return self._json(
            202,
            {
                "status": "success",
                "message": "Event processed",
                "dedup_key": data.get("dedup_key") or uuid.uuid4().hex,
            },
        )

    def _opsgenie(self, path: str, query: dict[str, list[str]], headers: dict[str, str], data: Any) -> Answer:
        took = {"took": 0.01, "requestId": str(uuid.uuid4())}
        if headers.get("authorization") != f"GenieKey {OG_KEY}":
            return self._json(401, {"message": "Could not authenticate", **took})
        if path.endswith("/close"):
            if query.get("identifierType") != ["alias"]:
                return self._json(422, {"message": "identifierType must be alias here", **took})
            return self._json(202, {"result": "Request will be processed", **took})
        if not isinstance(data, dict) or not data.get("message"):
            return self._json(422, {"message": "Message can not be empty.", **took})
        if len(data["message"]) > 130 or len(data.get("alias", "")) > 512:
            return self._json(422, {"message": "Message can not be longer than 130 characters.", **took})
        return self._json(202, {"result": "Request will be processed", **took})

    def _webhook(self, path: str, query: dict[str, list[str]], headers: dict[str, str], data: Any) -> Answer:
        return 200, {}, b""

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                service = next(
                    (
                        s
                        for s in ("slack", "discord", "pagerduty", "opsgenie")
                        if parts.path.startswith(f"/{s}/")
                    ),
                    "webhook" if parts.path == "/hook" else "",
                )
                if not service:
                    self._send(404, {}, b"not found")
                    return
                if service == "webhook":
                    expected = (
                        "sha256="
                        + hmac.new(
                            HOOK_SECRET.encode(),
                            headers.get("x-streamfix-timestamp", "").encode() + b"." + body,
                            hashlib.sha256,
                        ).hexdigest()
                    )
                    if not hmac.compare_digest(expected, headers.get("x-streamfix-signature", "")):
                        self._send(401, {}, b"bad signature")
                        return
                self._send(*fake._answer(service, "POST", parts.path, parse_qs(parts.query), headers, body))

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

        return Handler
