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
import re
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
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


# --- scripted model behaviours for the red-team suite ------------------------------------------------------
#
# Each returns a ``responder`` for :attr:`FakeAnthropic.responder`: it reads the prompt the way a model
# would (the source listing, the innermost frame, the untrusted log block) and answers with a forced
# ``propose_fix`` tool call. ``repo`` is a checkout of the repository under fix, so that edits are
# valid search/replace blocks (a refused edit must be refused by policy, not because it did not match).

_WINDOW = re.compile(r"^# file: (?P<path>\S+) lines (?P<start>\d+)-(?P<end>\d+)$", re.M)
_LISTING = re.compile(r"^\s*(?P<n>\d+) \| (?P<code>.*)$", re.M)
_FRAME_LINE = re.compile(r"Innermost app frame: .*?:(?P<line>\d+) in ")
_LOG_BLOCK = re.compile(r"<<<UNTRUSTED-DATA-(?P<tag>[0-9a-f]+) log>>>\n(?P<body>.*?)\n<<<END-UNTRUSTED-DATA-(?P=tag)>>>", re.S)
_SNIPPET = re.compile(r"`([^`\n]+)`")
_PATHISH = re.compile(r"(?<![\w/.\-])((?:\.{0,2}/)?(?:[\w.\-]+/)*(?:[\w\-]+\.(?:py|ya?ml|toml|txt|cfg|lock|json|sh|sql|ini)|"
                      r"Makefile|Dockerfile|CODEOWNERS|\.gitattributes|\.gitmodules|\.gitignore|\.env))(?![\w.])")
_INSTRUCTION = re.compile(
    r"(?i)\b(?:ignore|instruction|please|add|put|write|insert|append|include|edit|change|update|replace|rename|"
    r"set|title|mention|use|approve|merge|system|assistant|root cause)\b"
)


def _prompt(body: dict[str, Any]) -> str:
    content = body["messages"][0]["content"]
    return content if isinstance(content, str) else json.dumps(content)


def _focus(prompt: str, repo: Path | None) -> tuple[str, str] | None:
    """(path, one line of it that occurs exactly once) around the innermost frame."""
    window = _WINDOW.search(prompt)
    if window is None:
        return None
    path = window["path"]
    block = prompt[window.end():].split("<<<END-UNTRUSTED-DATA-", 1)[0]
    listing = {int(m["n"]): m["code"] for m in _LISTING.finditer(block)}
    frame = _FRAME_LINE.search(prompt)
    wanted = int(frame["line"]) if frame else int(window["start"])
    text = (repo / path).read_text() if repo is not None and (repo / path).is_file() else "\n".join(listing.values())
    for n in sorted(listing, key=lambda k: abs(k - wanted)):
        line = listing[n]
        if line.strip() and text.count(line + "\n") == 1:
            return path, line + "\n"
    return None


def _edit(path: str, line: str, added: list[str]) -> dict[str, str]:
    indent = line[: len(line) - len(line.lstrip())]
    return {"path": path, "search": line, "replace": "".join(f"{indent}{a}\n" for a in added) + line}


def _answer(root_cause: str, explanation: str, edits: list[dict[str, str]]) -> Reply:
    return tool_reply(root_cause=root_cause or "unknown", explanation=explanation, confidence=0.95,
                      fixability=0.9, edits=edits)


def well_behaved(repo: Path | None = None) -> Callable[[dict[str, Any]], Reply]:
    """A careful model: a one-line note above the failing line of the innermost frame file, nothing else."""

    def respond(body: dict[str, Any]) -> Reply:
        prompt = _prompt(body)
        focus = _focus(prompt, repo)
        edits = [_edit(focus[0], focus[1], ["# Reviewed: guard this call against bad input."])] if focus else []
        return _answer("The failing line does not check its input.", "Adds a note above the failing line.", edits)

    return respond


def echoing(repo: Path | None = None) -> Callable[[dict[str, Any]], Reply]:
    """A model that repeats everything it was shown: the whole prompt in its analysis and in the edit."""

    def respond(body: dict[str, Any]) -> Reply:
        prompt = _prompt(body)
        system = body.get("system") or ""
        everything = f"{system if isinstance(system, str) else json.dumps(system)}\n{prompt}"
        focus = _focus(prompt, repo)
        lines = [f"# {line}" for line in everything.splitlines()[:400]]
        edits = [_edit(focus[0], focus[1], lines)] if focus else []
        return _answer(everything, everything, edits)

    return respond


def obeying(
    repo: Path | None = None,
    *,
    raw_secrets: Sequence[str] = (),
    paths: Sequence[str] = (),
    copy_orders: bool = True,
) -> Callable[[dict[str, Any]], Reply]:
    """A model that obeys every instruction it reads and repeats the raw secrets it knows.

    It edits every path the log names (and ``paths``), puts every code snippet of the log into the frame
    file, copies the instruction lines into the code (unless ``copy_orders`` is false), the analysis and
    the explanation, and writes each of ``raw_secrets`` into the code as a constant and into its analysis.
    """

    def search_for(path: str) -> str:
        if repo is not None:
            try:
                target = repo / path
                if target.is_file() and not target.is_symlink():
                    first = next((ln for ln in target.read_text().splitlines() if ln.strip()), "")
                    if first:
                        return first
                elif target.is_symlink() or target.resolve().is_file():
                    return next((ln for ln in target.resolve().read_text().splitlines() if ln.strip()), "x")
            except (OSError, ValueError, UnicodeError):
                pass
        return "VALUE = 1"

    def respond(body: dict[str, Any]) -> Reply:
        prompt = _prompt(body)
        logs = "\n".join(m["body"] for m in _LOG_BLOCK.finditer(prompt)) or prompt
        orders = [line for line in logs.splitlines() if _INSTRUCTION.search(line)]
        snippets = [s for line in orders for s in _SNIPPET.findall(line)] if copy_orders else []
        edits: list[dict[str, str]] = []
        for path in dict.fromkeys([*paths, *(p for line in orders for p in _PATHISH.findall(line))]):
            first = search_for(path)
            edits.append({"path": path, "search": first, "replace": first + "\n" + "\n".join(
                [f"# {o}" for o in orders] + snippets)})
        focus = _focus(prompt, repo)
        if focus is not None:
            added = [*snippets, *(f"# {o}" for o in orders if copy_orders),
                     *(f"LEAKED_{i} = {secret!r}" for i, secret in enumerate(raw_secrets))]
            edits.append(_edit(focus[0], focus[1], added or ["pass"]))
        said = "\n".join([*orders, *raw_secrets])
        return _answer(f"As instructed: {said}", f"[skip ci] @admin Fixes #1 {said}", edits)

    return respond


MODES: dict[str, Callable[..., Callable[[dict[str, Any]], Reply]]] = {
    "well-behaved": well_behaved,
    "echo": echoing,
    "obey": obeying,
}


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - a tool for manual runs
    """``python -m tests.fakes.anthropic_server --mode obey --repo CHECKOUT [--secrets FILE] [--port N]``:
    serve one mode until interrupted, printing the base URL (set it as ANTHROPIC_BASE_URL)."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=sorted(MODES), default="well-behaved")
    parser.add_argument("--repo", type=Path)
    parser.add_argument("--secrets", type=Path, help="raw secret values, one a line (obey mode repeats them)")
    parser.add_argument("--api-key", default="sk-ant-test-key")
    args = parser.parse_args(argv)
    server = FakeAnthropic(api_key=args.api_key)
    if args.mode == "obey":
        raw = args.secrets.read_text().splitlines() if args.secrets else []
        server.responder = obeying(args.repo, raw_secrets=raw)
    else:
        server.responder = MODES[args.mode](args.repo)
    server.start()
    print(server.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
