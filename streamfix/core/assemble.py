"""Multi-line assembly: a pure state machine that groups parsed lines into output units, per stream.

Every line fed in ends up in exactly one :class:`Unit`: either an error unit (a Python traceback, a
Python exception group, a Node.js or Java stack trace, a ``logging.exception`` message with its
traceback, a line carrying a traceback in a structured field, or an error-level line) or a plain,
non-error line. Lines of different streams (``ParsedLine.stream``) may be interleaved freely.

Gaps are tolerated: the Railway CLI drops lines whose timestamp is not later than the previous one, so
a traceback may lack its ``Traceback`` header, some frames or its exception line. A unit cut off by a
missing line, by the end of input (:meth:`Assembler.flush`) or by a quiet period
(:meth:`Assembler.flush_idle`) is emitted with ``incomplete=True``, never dropped.

The state (:meth:`Assembler.state`) is plain JSON-able data; :meth:`Assembler.from_state` restores it,
so a worker can keep it in a table and resume after a restart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from streamfix.core.dotnet import DOTNET_LINE, DOTNET_REPEAT, DOTNET_START
from streamfix.core.models import ParsedLine

STATE_VERSION = 1
MAX_UNIT_LINES = 1000
MAX_INTERLEAVED = 5  # consecutive plain lines of the same stream inside a traceback
MAX_INTERLEAVED_AFTER_EXC = 1
MAX_CONTINUATION = 20  # lines of an exception message after its first line

# States of an open unit.
PENDING = "pending"  # one held line: an error-level line or an exception-like line, waiting for the next
PY_FRAMES = "py_frames"  # inside a Python traceback, before its exception line
PY_AFTER_EXC = "py_after_exc"  # after a Python exception line: message continuation or chaining
PY_AFTER_BLANK = "py_after_blank"
PY_CHAIN = "py_chain"  # after "During handling..." / "The above exception..."
PY_GROUP = "py_group"  # inside an ExceptionGroup box
STACK = "stack"  # Node.js or Java stack trace
NODE_PRE = "node_pre"  # Node.js uncaught-error preamble: "file.js:LINE", the source line, a caret
NODE_PRE_BLANK = "node_pre_blank"  # after the blank line that ends the preamble: the error line is next
GO = "go"  # a Go panic and its goroutine traces
RUST_MSG = "rust_msg"  # a Rust panic's message, after "thread '...' panicked at FILE:LINE:COL:"
RUST_BT = "rust_bt"  # a Rust RUST_BACKTRACE "stack backtrace:"
RUBY = "ruby"  # a Ruby exception: its header line, "from" lines, causes
DOTNET_HEAD = "dotnet_head"  # after Mono's "Unhandled Exception:": the exception line is next
DOTNET_MSG = "dotnet_msg"  # after a .NET exception line: its message continues until the first frame
DOTNET = "dotnet"  # an unhandled .NET exception's frames, inner-exception markers, Mono's repeat of it
_COMPLETE_STATES = frozenset({PY_AFTER_EXC, PY_AFTER_BLANK, STACK, GO, RUST_MSG, RUST_BT, RUBY, DOTNET_MSG, DOTNET})
_CUT_STATES = frozenset({PY_FRAMES, PY_CHAIN, NODE_PRE, NODE_PRE_BLANK, DOTNET_HEAD})  # no exception line seen yet
MAX_PREAMBLE = 6

TB_START = re.compile(r"^\s*(?:[|+]\s*)?(?:Exception Group )?Traceback \(most recent call last\):\s*$")
PY_FILE = re.compile(r'^\s*(?:[|>]\s*)?File "[^"]*", line \d+')  # ">": loguru marks the failing frame
PY_CHAIN_MARKER = re.compile(
    r"^\s*(?:\|\s*)?(?:During handling of the above exception, another exception occurred:"
    r"|The above exception was the direct cause of the following exception:)\s*$"
)
GROUP_LINE = re.compile(r"^\s*[|+]")
STACK_AT = re.compile(r"^\s+at \S")
JAVA_AT = re.compile(r"^\s+at [\w$.<>/]+\([^)]*\)\s*$")
STACK_MORE = re.compile(r"^\s*(?:\.\.\. \d+ (?:more|common frames omitted)|Caused by: |Suppressed: |\[cause\]:|\}|Node\.js v\d)")
NODE_PREAMBLE = re.compile(r"^(?:/|[A-Za-z]:\\|file://)\S*\.[cm]?[jt]sx?:\d+$")
NODE_ERROR_LINE = re.compile(r"^[\w$.]+(?::\s.*)?$")
JAVA_HEADER = re.compile(r'^Exception in thread "[^"]*" [\w$.]+')
EXC_LIKE = re.compile(r"^(?:[A-Za-z_$][\w$]*\.)*(?:[A-Za-z_$][\w$]*)?(?:Error|Exception)(?::\s|:?$)")

# What a multi-line exception message continues with: indented lines (pydantic's error details, a caret),
# a bare field path (pydantic's "items.0.price"), a database server's "DETAIL:", "HINT:", "LINE 1:" lines.
# Any other unindented line is the program's next output, not part of the message.
MESSAGE_CONTINUATION = re.compile(r"^(?:\s+\S|[\w.\[\]\-]+\s*$|[A-Z][A-Z ]{1,20}:|LINE \d+:|\^)")

GO_START = re.compile(r"^(?:panic: |fatal error: )")
# What follows a Go panic line: re-panics ("\tpanic: ..." after "[recovered]"), the signal line, goroutine headers, function lines
# ("main.(*Server).handle(0xc000010000, {0x4b2f60, 0x5})"), their tab-indented "file.go:LINE +0x1d"
# lines, "created by", elided frames, and "exit status 2" from "go run".
GO_LINE = re.compile(
    r"^(?:\[signal .*\]|goroutine \d+ \[[^\]]*\]:|\t.*|[\w./*()\[\]{}$-]+\(.*\)"
    r"|created by .*|\.\.\.additional frames elided\.\.\.|exit status \d+|\s*)$"
)
# Ruby's uncaught exception: "FILE:LINE:in `METHOD': MESSAGE (Class)" (quotes ` ' before 3.4, ' ' after),
# then "\tfrom FILE:LINE:in `METHOD'" lines; a cause is printed the same way right after.
RUBY_START = re.compile(r"^[^\s:][^:]*:\d+:in [`'][^'`]+': .*\([A-Z][\w:]*\)$")
RUBY_FROM = re.compile(r"^\t(?:from \S.*:\d+:in |\.\.\. \d+ levels\.\.\.)")
RUST_START = re.compile(r"^thread '[^']*'(?: \(\d+\))? panicked at ")
RUST_FRAME = re.compile(r"^\s+(?:\d+: |at )\S")

_PINO_ERROR = re.compile(r'level\\?":\s?[56]0\b')


def might_open_error(raw: str) -> bool:
    """Prefilter over a raw line: a line for which this is false can never open an error unit.

    While :attr:`Assembler.idle` is true a caller may skip parsing such a line entirely: it is a plain
    line. The assembler only opens a unit on an error level (``err``, ``error``, ``crit``, ``critical``,
    ``fatal``, ``exception``, pino's 50/60), a ``Traceback`` line, an exception-like line (a name ending
    in Error or Exception), a Go or Rust panic, a traceback in a structured field (``exc_info``, ``exception``, ``err``,
    ``error``, ``traceback``, or ``stack`` when the stack names an error), or, at an error level only, a
    ``File "..."`` line or a Node.js preamble; each of those contains one of the substrings checked
    here. ``in`` checks on the lowercased line are several times faster than one regular expression
    with this many alternatives.
    """
    low = raw.lower()
    return (
        "err" in low
        or "exc" in low
        or "crit" in low
        or "fatal" in low
        or "traceback" in low
        or "panic" in low
        or _PINO_ERROR.search(low) is not None
    )


@dataclass(frozen=True, slots=True)
class Unit:
    """One output unit: ``kind`` is ``"line"`` for a plain line, otherwise the kind of error."""

    kind: str
    lines: tuple[ParsedLine, ...]
    incomplete: bool = False

    @property
    def is_error(self) -> bool:
        return self.kind != "line"

    @property
    def line_start(self) -> int:
        return self.lines[0].index

    @property
    def line_end(self) -> int:
        return self.lines[-1].index


@dataclass(slots=True)
class _Open:
    state: str
    kind: str
    lines: list[ParsedLine]
    incomplete: bool = False
    count: int = 0
    last_seen: float | None = None
    foreign: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "kind": self.kind,
            "incomplete": self.incomplete,
            "count": self.count,
            "foreign": self.foreign,
            "last_seen": self.last_seen,
            "lines": [line.to_dict() for line in self.lines],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _Open:
        last_seen = data.get("last_seen")
        return cls(
            state=str(data["state"]),
            kind=str(data["kind"]),
            lines=[ParsedLine.from_dict(line) for line in data.get("lines", [])],
            incomplete=bool(data.get("incomplete", False)),
            count=int(data.get("count", 0)),
            foreign=int(data.get("foreign", 0)),
            last_seen=None if last_seen is None else float(last_seen),
        )


def _has_header(line: ParsedLine) -> bool:
    return line.message is not line.text and line.message != line.text


def _foreign(unit_line: ParsedLine, line: ParsedLine) -> bool:
    """A non-error line of the same stream that cannot belong to the open unit (interleaved output)."""
    if line.is_error_level or line.exc_text:
        return False
    if _has_header(line):
        return True
    return line.fmt != "text" and line.level != unit_line.level


def _starts_error(line: ParsedLine) -> bool:
    """An error-level line (not an indented fragment of something else) or an exception-like line."""
    if line.is_error_level:
        return line.message[:1] not in ("", " ", "\t") and not line.message.isspace()
    return EXC_LIKE.match(line.message) is not None


def _continues_message(line: ParsedLine) -> bool:
    """Whether a line of the same source, after an exception line, continues that exception's message.

    Never a line that starts something else (a traceback, a frame, another runtime's error). When the
    source marks every line with a level (stderr as error, stdout as info: Railway, syslog priorities),
    any other line of the exception's level continues it; without levels only the shapes of
    :data:`MESSAGE_CONTINUATION` do, so a program's next output is not swallowed.
    """
    text = line.message
    if TB_START.match(text) or PY_FILE.match(text) or EXC_LIKE.match(text) or JAVA_HEADER.match(text) \
            or NODE_PREAMBLE.match(text) or GO_START.match(text) or RUST_START.match(text) or RUBY_START.match(text) \
            or DOTNET_START.match(text):
        return False
    return line.level is not None or MESSAGE_CONTINUATION.match(text) is not None


@dataclass(slots=True)
class Assembler:
    """Per-stream multi-line assembly. Feed lines in order with :meth:`feed`; collect units."""

    streams: dict[str, _Open] = field(default_factory=dict)

    @property
    def idle(self) -> bool:
        """True when no stream has an open unit."""
        return not self.streams

    # -- serialisation -------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "streams": {k: v.to_dict() for k, v in self.streams.items()}}

    @classmethod
    def from_state(cls, data: dict[str, Any] | None) -> Assembler:
        if not data:
            return cls()
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported assembly state version {data.get('version')!r}")
        return cls({str(k): _Open.from_dict(v) for k, v in data.get("streams", {}).items()})

    # -- feeding -------------------------------------------------------------------------------
    def feed(self, line: ParsedLine, now: float | None = None) -> list[Unit]:
        """Feed one line; return the units completed by it (possibly none)."""
        out: list[Unit] = []
        current = self.streams.get(line.stream)
        if current is None:
            self._idle(line, now, out)
        else:
            if now is not None:
                current.last_seen = now
            self._step(current, line, now, out)
        return out

    def flush(self) -> list[Unit]:
        """End of input: emit every open unit (cut-off tracebacks as incomplete)."""
        out: list[Unit] = []
        for key in list(self.streams):
            self._close(key, out)
        return out

    def flush_idle(self, now: float, quiet_seconds: float) -> list[Unit]:
        """Emit the open units of streams that have been quiet for at least ``quiet_seconds``."""
        out: list[Unit] = []
        for key, current in list(self.streams.items()):
            if current.last_seen is None or now - current.last_seen >= quiet_seconds:
                self._close(key, out)
        return out

    # -- internals -----------------------------------------------------------------------------
    def _open(self, line: ParsedLine, state: str, kind: str, now: float | None, *, incomplete: bool = False) -> None:
        self.streams[line.stream] = _Open(state, kind, [line], incomplete, 0, now)

    def _emit(self, key: str, out: list[Unit], *, incomplete: bool | None = None) -> None:
        current = self.streams.pop(key)
        flag = current.incomplete if incomplete is None else incomplete or current.incomplete
        lines = current.lines
        if lines[-1].message.strip() or len(lines) == 1:
            out.append(Unit(current.kind, tuple(lines), flag))
            return
        end = len(lines)
        while end > 1 and not lines[end - 1].message.strip() and not _has_header(lines[end - 1]):
            end -= 1  # blank lines after the error (kept in case a chained section followed) are not part of it
        out.append(Unit(current.kind, tuple(lines[:end]), flag))
        out.extend(Unit("line", (line,)) for line in lines[end:])

    def _close(self, key: str, out: list[Unit]) -> None:
        current = self.streams[key]
        if current.state == PENDING:
            head = current.lines[0]
            self.streams.pop(key)
            out.append(Unit("log" if head.is_error_level else "line", (head,)))
        else:
            self._emit(key, out, incomplete=current.state in _CUT_STATES)

    def _idle(self, line: ParsedLine, now: float | None, out: list[Unit]) -> None:
        text = line.message
        if line.exc_text:
            out.append(Unit("embedded", (line,)))
        elif TB_START.match(text):
            state = PY_GROUP if "Exception Group" in text or text.lstrip().startswith("+") else PY_FRAMES
            self._open(line, state, "python", now)
        elif PY_FILE.match(text) and line.is_error_level:  # a traceback whose header line is missing
            self._open(line, PY_FRAMES, "python", now, incomplete=True)
        elif JAVA_HEADER.match(text):
            self._open(line, STACK, "java", now)
        elif GO_START.match(text):
            self._open(line, GO, "go", now)
        elif RUST_START.match(text):
            self._open(line, RUST_MSG, "rust", now)
        elif RUBY_START.match(text):
            self._open(line, RUBY, "ruby", now)
        elif DOTNET_START.match(text):
            self._open(line, DOTNET_HEAD if text.startswith("Unhandled Exception:") else DOTNET_MSG, "dotnet", now)
        elif line.is_error_level and NODE_PREAMBLE.match(text):
            self._open(line, NODE_PRE, "node", now)
        elif STACK_AT.match(text) and line.is_error_level:
            self._open(line, STACK, "java" if JAVA_AT.match(text) else "node", now, incomplete=True)
        elif _starts_error(line):
            self._open(line, PENDING, "log", now)
        else:
            out.append(Unit("line", (line,)))

    def _restart(self, key: str, line: ParsedLine, now: float | None, out: list[Unit], *,
                 incomplete: bool = False) -> None:
        self._emit(key, out, incomplete=incomplete)
        self._idle(line, now, out)

    def _step(self, cur: _Open, line: ParsedLine, now: float | None, out: list[Unit]) -> None:
        key = line.stream
        if len(cur.lines) >= MAX_UNIT_LINES:
            self._restart(key, line, now, out, incomplete=cur.state in _CUT_STATES or cur.state == PY_GROUP)
            return
        state = cur.state
        if state != PENDING and _foreign(cur.lines[-1], line):
            # Inside a traceback a few interleaved lines are tolerated; once the exception line has been
            # seen the unit is complete, so one is enough (and the unit closes sooner).
            limit = MAX_INTERLEAVED_AFTER_EXC if state in _COMPLETE_STATES else MAX_INTERLEAVED
            if cur.foreign < limit:
                cur.foreign += 1
                out.append(Unit("line", (line,)))
            else:
                self._restart(key, line, now, out, incomplete=state in _CUT_STATES)
            return
        size = len(cur.lines)
        self._dispatch(cur, line, now, out)
        if len(cur.lines) > size:
            cur.foreign = 0

    def _dispatch(self, cur: _Open, line: ParsedLine, now: float | None, out: list[Unit]) -> None:
        key = line.stream
        text = line.message
        state = cur.state
        if state == PENDING:
            head = cur.lines[0]
            if TB_START.match(text) or PY_FILE.match(text):
                group = "Exception Group" in text or text.lstrip().startswith("+")
                if head.is_error_level:
                    cur.lines.append(line)
                    cur.state = PY_GROUP if group else PY_FRAMES
                    cur.kind = "python"
                    cur.incomplete = PY_FILE.match(text) is not None
                else:
                    self.streams.pop(key)
                    out.append(Unit("line", (head,)))
                    self._idle(line, now, out)
            elif STACK_AT.match(text) or JAVA_AT.match(text):
                cur.lines.append(line)
                cur.state = STACK
                cur.kind = "java" if JAVA_AT.match(text) else "node"
            else:
                self.streams.pop(key)
                out.append(Unit("log" if head.is_error_level else "line", (head,)))
                self._idle(line, now, out)
        elif state == PY_FRAMES:
            self._py_frames(cur, line, now, out)
        elif state == PY_AFTER_EXC:
            same_source = line.level == cur.lines[-1].level and not _has_header(line) and not line.exc_text
            if not text.strip() and not _has_header(line):
                cur.lines.append(line)
                cur.state = PY_AFTER_BLANK
            elif PY_CHAIN_MARKER.match(text):
                cur.lines.append(line)
                cur.state = PY_CHAIN
            elif same_source and cur.count < MAX_CONTINUATION and _continues_message(line):
                cur.lines.append(line)
                cur.count += 1
            else:
                self._restart(key, line, now, out)
        elif state == PY_AFTER_BLANK:
            if PY_CHAIN_MARKER.match(text):
                cur.lines.append(line)
                cur.state = PY_CHAIN
            elif not text.strip() and not _has_header(line):
                cur.lines.append(line)
            else:
                self._restart(key, line, now, out)
        elif state == PY_CHAIN:
            if not text.strip() and not _has_header(line):
                cur.lines.append(line)
            elif TB_START.match(text):
                cur.lines.append(line)
                cur.state = PY_GROUP if "Exception Group" in text else PY_FRAMES
                cur.count = 0
            else:
                self._restart(key, line, now, out, incomplete=True)
        elif state == PY_GROUP:
            if GROUP_LINE.match(text) or (TB_START.match(text) and "Exception Group" in text):
                cur.lines.append(line)
            elif not _has_header(line) and PY_CHAIN_MARKER.match(text):
                cur.lines.append(line)
                cur.state = PY_CHAIN
            elif not text.strip() and not _has_header(line):
                cur.lines.append(line)
                cur.state = PY_AFTER_BLANK
            else:
                self._restart(key, line, now, out)
        elif state == NODE_PRE:
            if not text.strip():
                cur.state = NODE_PRE_BLANK
                cur.lines.append(line)
            elif len(cur.lines) < MAX_PREAMBLE and not _has_header(line):
                cur.lines.append(line)
            else:
                self._restart(key, line, now, out, incomplete=True)
        elif state == NODE_PRE_BLANK:
            if EXC_LIKE.match(text) or NODE_ERROR_LINE.match(text):
                cur.lines.append(line)
                cur.state = STACK
            else:
                self._restart(key, line, now, out, incomplete=True)
        elif state == GO:
            if not _has_header(line) and GO_LINE.match(text) and not (text.strip() and EXC_LIKE.match(text)):
                cur.lines.append(line)
                if text.startswith("exit status "):  # "go run" reports the exit: nothing follows
                    self._emit(key, out)
            else:
                self._restart(key, line, now, out)
        elif state == RUBY:
            # A cause is printed right after; a header after other lines of the stream is a new exception.
            if not _has_header(line) and (RUBY_FROM.match(text) or (RUBY_START.match(text) and not cur.foreign)):
                cur.lines.append(line)
            else:
                self._restart(key, line, now, out)
        elif state in (DOTNET_HEAD, DOTNET_MSG, DOTNET):
            self._dotnet(cur, line, now, out)
        elif state in (RUST_MSG, RUST_BT):
            self._rust(cur, line, now, out)
        else:  # STACK
            if not _has_header(line) and not TB_START.match(text) and (STACK_AT.match(text) or STACK_MORE.match(text) or
                                          (text[:1].isspace() and text.strip()) or not text.strip()):
                cur.lines.append(line)
            else:
                self._restart(key, line, now, out)

    def _dotnet(self, cur: _Open, line: ParsedLine, now: float | None, out: list[Unit]) -> None:
        key = line.stream
        text = line.message
        if DOTNET_REPEAT.match(text):  # Mono's "[ERROR] FATAL UNHANDLED EXCEPTION:" repeat: the same event
            cur.lines.append(line)
            cur.state = DOTNET_MSG
            cur.count = 0
        elif _has_header(line):
            self._restart(key, line, now, out, incomplete=cur.state == DOTNET_HEAD)
        elif cur.state == DOTNET_HEAD:
            if text.strip():
                cur.lines.append(line)
                cur.state = DOTNET_MSG
                cur.count = 0
            else:
                self._restart(key, line, now, out, incomplete=True)
        elif DOTNET_LINE.match(text):
            cur.lines.append(line)
            cur.state = DOTNET
        elif cur.state == DOTNET_MSG and cur.count < MAX_CONTINUATION and not TB_START.match(text):
            cur.lines.append(line)  # the exception message's next line ("Parameter name: key")
            cur.count += 1
        else:
            self._restart(key, line, now, out)

    def _rust(self, cur: _Open, line: ParsedLine, now: float | None, out: list[Unit]) -> None:
        key = line.stream
        text = line.message
        if _has_header(line) or TB_START.match(text) or RUST_START.match(text):
            self._restart(key, line, now, out)
        elif text.startswith("note: "):  # the default panic hook's last line
            cur.lines.append(line)
            self._emit(key, out)
        elif text == "stack backtrace:":
            cur.lines.append(line)
            cur.state = RUST_BT
        elif cur.state == RUST_BT:
            if RUST_FRAME.match(text):
                cur.lines.append(line)
            else:
                self._restart(key, line, now, out)
        elif cur.count < MAX_CONTINUATION and text.strip():  # the panic message, any number of lines
            cur.lines.append(line)
            cur.count += 1
        else:
            self._restart(key, line, now, out)

    def _py_frames(self, cur: _Open, line: ParsedLine, now: float | None, out: list[Unit]) -> None:
        key = line.stream
        text = line.message
        if PY_FILE.match(text) or (text[:1].isspace() and not _has_header(line)) or text.startswith("[Previous line"):
            cur.lines.append(line)
        elif TB_START.match(text):
            self._restart(key, line, now, out, incomplete=True)
        elif not text.strip():
            cur.lines.append(line)
        elif _has_header(line) or line.exc_text or (line.fmt != "text" and line.level != cur.lines[-1].level):
            self._restart(key, line, now, out, incomplete=True)
        else:
            cur.lines.append(line)
            cur.state = PY_AFTER_EXC
            cur.count = 0
