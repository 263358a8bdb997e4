"""Extraction: an assembled error unit in, an unclassified :class:`ErrorEvent` out.

Python tracebacks (plain, chained, exception groups, SyntaxError), Node.js and Java stack traces, Go
and Rust panics, Ruby and .NET exceptions (:mod:`streamfix.core.dotnet`), tracebacks carried in a
structured field, and error-level lines without a traceback.

For a chained Python traceback the reported exception is the last one printed (the one that
propagated); the earlier ones are listed in ``ErrorEvent.chained``. For an exception group the first
leaf sub-exception is reported (with the group's own frames in front of its frames) and the group type
goes into ``chained``. For Java the top exception is reported and its ``Caused by:`` types are chained.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from streamfix.core import dotnet
from streamfix.core.assemble import (
    GO_START,
    NODE_PREAMBLE,
    PY_CHAIN_MARKER,
    RUBY_START,
    RUST_START,
    TB_START,
    Unit,
)
from streamfix.core.models import ErrorEvent, Frame, ParsedLine

GENERIC_TYPE = "LoggedError"
MAX_MESSAGE_CHARS = 2000  # longer exception messages are cut, with a marker

_NOT_APP_DEFAULT: tuple[str, ...] = (
    "/site-packages/",
    "/dist-packages/",
    "/node_modules/",
    "<frozen ",
    "node:",
    "internal/",
)
_STDLIB_PATH = re.compile(r"[/\\](?:lib|Lib)[/\\]python\d+(?:\.\d+)?[/\\]|[/\\]lib[/\\]pypy")
_JAVA_NOT_APP: tuple[str, ...] = ("java.", "javax.", "jdk.", "sun.", "com.sun.", "kotlin.", "scala.")

_PY_FILE = re.compile(r'^\s*(?:>\s*)?File "(?P<file>[^"]*)", line (?P<line>\d+)(?:, in (?P<func>.+?))?\s*$')
_PY_EXC = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<msg>.*))?$")
_JAVA_FRAME = re.compile(r"^\s*at (?P<func>[\w$.<>/]+)\((?P<file>[^:)]*)(?::(?P<line>\d+))?\)")
_NODE_FRAME = re.compile(
    r"^\s*at (?:(?P<func>.+?) \((?P<file>[^()]+?)(?::(?P<line>\d+))?(?::\d+)?\)"
    r"|(?P<file2>[^\s()]+?)(?::(?P<line2>\d+))?(?::\d+)?)\s*$"
)
_JAVA_HEAD = re.compile(r'^(?:Exception in thread "[^"]*" |Caused by: |\s*Suppressed: )?(?P<type>[\w$.]+)(?::\s?(?P<msg>.*))?$')
_LOG_TYPE = re.compile(
    r"(?:^|[\s:(\[])(?P<type>(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Timeout|Exit|Interrupt|Fault))\b(?::\s?(?P<msg>.*))?"
)
_GO_PANIC = re.compile(r"^(?:panic|fatal error): (?P<msg>.*?)(?: \[recovered\])?$")
_GO_FUNC = re.compile(r"^(?P<func>[\w./*()\[\]{}$-]+?)\(.*\)$")
_GO_FILE = re.compile(r"^\t(?P<file>.+?):(?P<line>\d+)(?: \+0x[0-9a-f]+)?$")
_GO_NOT_APP = ("runtime.", "panic(", "testing.")
_RUST_HEAD = re.compile(
    r"^thread '[^']*'(?: \(\d+\))? panicked at (?:(?P<file>.+?):(?P<line>\d+):\d+:$"
    r"|'(?P<msg>.*)', (?P<file2>.+?):(?P<line2>\d+):\d+$)"
)
_RUST_FUNC = re.compile(r"^\s+\d+: (?:0x[0-9a-f]+ - )?(?P<func>.+?)$")
_RUST_AT = re.compile(r"^\s+at (?P<file>.+?):(?P<line>\d+)(?::\d+)?$")
_RUST_NOT_APP = ("std::", "core::", "alloc::", "__rustc::", "rust_begin_unwind", "__rust", "<alloc::", "<core::",
                 "<std::", "_start", "__libc_start")
_LOG_DOTTED = re.compile(r"^(?P<type>[a-z_]\w*(?:\.[A-Za-z_]\w*)*\.[A-Z]\w*)(?::\s?(?P<msg>.*))?$")


@dataclass(frozen=True, slots=True)
class InAppConfig:
    """Which frames count as application code.

    A frame is not in-app when its path contains one of ``not_app`` (site-packages, node_modules...),
    when it is under a Python stdlib directory, or when its Java class is a JDK one, unless its path
    starts with one of ``app_prefixes``, which always wins.
    """

    not_app: tuple[str, ...] = _NOT_APP_DEFAULT
    app_prefixes: tuple[str, ...] = ()
    java_not_app: tuple[str, ...] = field(default=_JAVA_NOT_APP)

    def is_in_app(self, path: str, java_class: str | None = None) -> bool:
        if self.app_prefixes and path.startswith(self.app_prefixes):
            return True
        if java_class is not None:
            return not java_class.startswith(self.java_not_app)
        return not (any(marker in path for marker in self.not_app) or _STDLIB_PATH.search(path))


DEFAULT_IN_APP = InAppConfig()


def python_module(path: str) -> str | None:
    """Dotted module name of a Python file path (the part after site-packages for libraries)."""
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        stdlib = _STDLIB_PATH.search(path)
        path = path[stdlib.end() :] if stdlib else path.rsplit("/", 1)[-1]
    if not path.endswith(".py"):
        return None
    dotted = path[:-3].replace("/", ".").replace("\\", ".")
    return dotted.removesuffix(".__init__") or None


@dataclass(slots=True)
class _Segment:
    frames: list[Frame] = field(default_factory=list)
    error_type: str | None = None
    message: list[str] = field(default_factory=list)


def _py_segments(texts: Sequence[str], in_app: InAppConfig) -> list[_Segment]:
    """Split Python traceback text into one segment per printed exception (in printed order)."""
    segments: list[_Segment] = [_Segment()]
    group = any("Exception Group Traceback" in t for t in texts[:3])
    expect_code = False
    for raw in texts:
        text = raw
        if group:
            stripped = raw.lstrip()
            if stripped.startswith("+"):
                if segments[-1].frames or segments[-1].error_type:
                    segments.append(_Segment())
                expect_code = False
                continue
            if stripped.startswith("|"):
                text = stripped[2:] if stripped.startswith("| ") else stripped[1:]
        seg = segments[-1]
        if seg.error_type is not None:
            if TB_START.match(text) or PY_CHAIN_MARKER.match(text):
                segments.append(_Segment())
            elif text.strip():
                seg.message.append(text)
            continue
        if m := _PY_FILE.match(text):
            path = m.group("file")
            func = m.group("func") or "<module>"
            seg.frames.append(
                Frame(path, int(m.group("line")), func, in_app.is_in_app(path), python_module(path))
            )
            expect_code = True
            continue
        if TB_START.match(text) or PY_CHAIN_MARKER.match(text) or not text.strip():
            expect_code = False
            continue
        if text[:1].isspace():
            body = text.strip()
            if expect_code and seg.frames and seg.frames[-1].code is None and body.strip("^~ "):
                last = seg.frames[-1]
                seg.frames[-1] = Frame(last.file, last.line, last.function, last.in_app, last.module, body)
            expect_code = False
            continue
        if text.startswith("[Previous line"):
            continue
        if m := _PY_EXC.match(text):
            seg.error_type = m.group("type")
            seg.message.append(m.group("msg") or "")
        else:
            seg.error_type = text.split(":", 1)[0].strip() or GENERIC_TYPE
            seg.message.append(text.split(":", 1)[1].strip() if ":" in text else "")
        expect_code = False
    return [s for s in segments if s.frames or s.error_type]


def _innermost(frames: Sequence[Frame]) -> Frame | None:
    for frame in reversed(frames):
        if frame.in_app:
            return frame
    return frames[-1] if frames else None


def _python(texts: Sequence[str], in_app: InAppConfig) -> tuple[str, str, tuple[Frame, ...], tuple[str, ...], bool]:
    segments = _py_segments(texts, in_app)
    if not segments:
        return GENERIC_TYPE, "", (), (), True
    group = any("Exception Group Traceback" in t for t in texts[:3])
    if group and len(segments) > 1:
        top, leaves = segments[0], [s for s in segments[1:] if s.error_type and "ExceptionGroup" not in s.error_type]
        primary = leaves[0] if leaves else segments[-1]
        frames = tuple(top.frames + primary.frames)
        chained = tuple(s.error_type or GENERIC_TYPE for s in segments if s is not primary)
    else:
        primary = segments[-1]
        frames = tuple(primary.frames)
        chained = tuple(s.error_type or GENERIC_TYPE for s in segments[:-1])
    missing = primary.error_type is None
    return primary.error_type or GENERIC_TYPE, "\n".join(primary.message).strip(), frames, chained, missing


def _java_root_cause(texts: Sequence[str]) -> Sequence[str]:
    """From a Java trace with top-level ``Caused by:`` sections, the deepest section (the root cause).

    Its frames continue (``... N more``) with the enclosing trace's, which are not repeated. The outer
    exceptions are kept as chained types, outermost first.
    """
    starts = [n for n, text in enumerate(texts) if text.startswith("Caused by: ")]
    return texts[starts[-1]:] if starts else texts


def _stack(texts: Sequence[str], in_app: InAppConfig, kind: str) -> tuple[str, str, tuple[Frame, ...], tuple[str, ...]]:
    if kind == "java" and any(text.startswith("Caused by: ") for text in texts):
        outer: list[str] = []
        for text in texts:
            stripped = text.removeprefix("Caused by: ") if text.startswith("Caused by: ") else None
            if (text is texts[0] or stripped is not None) and (hm := _JAVA_HEAD.match(stripped or text)):
                outer.append(hm.group("type"))
        root = _stack(_java_root_cause(texts), in_app, "java-root")
        return root[0], root[1], root[2], tuple(outer[:-1])
    error_type, message, chained = GENERIC_TYPE, "", []
    frames: list[Frame] = []
    in_top = True
    blank = next((i for i, t in enumerate(texts) if not t.strip()), None)
    if texts and blank is not None and NODE_PREAMBLE.match(texts[0]):
        texts = texts[blank + 1 :]  # skip Node's "file.js:LINE", source line and caret
    for text in texts:
        jm = _JAVA_FRAME.match(text) if kind in ("java", "java-root") else None
        nm = None if jm else _NODE_FRAME.match(text)
        if jm or nm:
            if not in_top:
                continue
            if jm:
                func = jm.group("func").rsplit("/", 1)[-1]  # drop a JPMS module ("java.base/")
                cls = func.rsplit(".", 1)[0]
                path = jm.group("file")
                line = jm.group("line")
                frames.append(Frame(path, int(line) if line else None, func, in_app.is_in_app(path, cls), cls))
            elif nm:
                path = nm.group("file") or nm.group("file2") or ""
                line = nm.group("line") or nm.group("line2")
                frames.append(Frame(path, int(line) if line else None, nm.group("func") or "<anonymous>", in_app.is_in_app(path)))
            continue
        stripped = text.strip()
        if kind == "java-root" and stripped.startswith("Caused by:") and error_type == GENERIC_TYPE:
            stripped = stripped.removeprefix("Caused by:").strip()
        elif stripped.startswith(("Caused by:", "Suppressed:", "[cause]:")):
            in_top = False
            hm = _JAVA_HEAD.match(stripped.removeprefix("[cause]: "))
            if hm:
                chained.append(hm.group("type"))
            continue
        if error_type == GENERIC_TYPE and stripped and (hm := _JAVA_HEAD.match(stripped)):
            error_type, message = hm.group("type"), (hm.group("msg") or "").strip()
    frames.reverse()  # innermost last, as in Python
    return error_type, message, tuple(frames), tuple(chained)


def _go(texts: Sequence[str], in_app: InAppConfig) -> tuple[str, str, tuple[Frame, ...]]:
    """A Go panic: ``panic: MESSAGE`` (``runtime error: ...`` for runtime.Error), then the panicking
    goroutine's frames, innermost first, as function lines each followed by a tab-indented file line."""
    texts = [t for n, t in enumerate(texts) if t.strip() or any(u.strip() for u in texts[:n])] or [""]
    error_type, message = "panic", ""
    if m := _GO_PANIC.match(texts[0].strip()):
        message = m.group("msg")
        if texts[0].startswith("fatal error: "):
            error_type = "fatal error"
        elif message.startswith("runtime error: "):
            error_type, message = "runtime.Error", message.removeprefix("runtime error: ")
    frames: list[Frame] = []
    function: str | None = None
    goroutines = 0
    for text in texts[1:]:
        if text.startswith("goroutine "):
            goroutines += 1
            if goroutines > 1:
                break  # only the panicking goroutine (the first one printed)
        elif fm := _GO_FILE.match(text):
            if function is not None:
                path = fm.group("file")
                app = in_app.is_in_app(path) and not function.startswith(_GO_NOT_APP) and "/src/runtime/" not in path
                frames.append(Frame(path, int(fm.group("line")), function, app, function.rsplit(".", 1)[0]))
            function = None
        elif fn := _GO_FUNC.match(text):
            function = fn.group("func")
    frames.reverse()  # innermost last, as in Python
    return error_type, message, tuple(frames)


def _rust(texts: Sequence[str], in_app: InAppConfig) -> tuple[str, str, tuple[Frame, ...], str | None, int | None]:
    """A Rust panic: the location in its first line, the message up to ``note:`` or ``stack backtrace:``,
    then (with ``RUST_BACKTRACE``) numbered frames, innermost first, each with an ``at file:line:col``."""
    texts = [t for n, t in enumerate(texts) if t.strip() or any(u.strip() for u in texts[:n])] or [""]
    head = _RUST_HEAD.match(texts[0])
    file = line = None
    lines: list[str] = []
    if head:
        file = head.group("file") or head.group("file2")
        line = int(head.group("line") or head.group("line2"))
        if head.group("msg") is not None:
            lines.append(head.group("msg"))
    frames: list[Frame] = []
    function: str | None = None
    in_backtrace = False
    for text in texts[1:]:
        if text == "stack backtrace:":
            in_backtrace = True
        elif text.startswith("note: "):
            break
        elif not in_backtrace:
            lines.append(text)
        elif fm := _RUST_FUNC.match(text):
            function = fm.group("func")
        elif (am := _RUST_AT.match(text)) and function is not None:
            path = am.group("file")
            app = (in_app.is_in_app(path) and not function.startswith(_RUST_NOT_APP)
                   and not path.startswith("/rustc/") and "/.cargo/registry/" not in path)
            frames.append(Frame(path, int(am.group("line")), function, app, function.rsplit("::", 1)[0]))
            function = None
    frames.reverse()
    return "panic", "\n".join(lines).strip(), tuple(frames), file, line


_RUBY_HEAD = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):in [`'](?P<func>[^'`]+)': (?P<msg>.*) \((?P<type>[A-Z][\w:]*)\)$")
_RUBY_FROM = re.compile(r"^\tfrom (?P<file>\S.*?):(?P<line>\d+):in [`'](?P<func>[^'`]+)'$")
_RUBY_NOT_APP = ("/lib/ruby/", "/gems/", "/vendor/bundle/", "<internal:")
_RUBY_BLOCK = re.compile(r"^(?:(?:block(?: \(\d+ levels\))?|rescue|ensure) in )+")


def _ruby(texts: Sequence[str], in_app: InAppConfig) -> tuple[str, str, tuple[Frame, ...], tuple[str, ...]]:
    """A Ruby exception: the raised one first (innermost frame in its header line, then ``from`` lines
    outward), each cause after it the same way. The raised exception is reported, causes are chained.

    A method written in C (``Hash#fetch``) is reported at its caller's line: when the innermost frame
    shares its file and line with the next one, the next one is where the error happened."""
    sections: list[tuple[str, str, list[Frame]]] = []
    for text in texts:
        if head := _RUBY_HEAD.match(text):
            path = head.group("file")
            func = _RUBY_BLOCK.sub("", head.group("func"))  # "block in total" runs in method total
            frame = Frame(path, int(head.group("line")), func, _ruby_app(path, in_app))
            sections.append((head.group("type"), head.group("msg"), [frame]))
        elif (step := _RUBY_FROM.match(text)) and sections:
            path = step.group("file")
            func = _RUBY_BLOCK.sub("", step.group("func"))
            sections[-1][2].append(Frame(path, int(step.group("line")), func, _ruby_app(path, in_app)))
    if not sections:
        return GENERIC_TYPE, texts[0] if texts else "", (), ()
    error_type, message, frames = sections[0]
    if len(frames) > 1 and (frames[0].file, frames[0].line) == (frames[1].file, frames[1].line):
        frames = frames[1:]
    frames.reverse()  # innermost last, as in Python
    return error_type, message, tuple(frames), tuple(t for t, _, _ in sections[1:])


def _ruby_app(path: str, in_app: InAppConfig) -> bool:
    return in_app.is_in_app(path) and not any(marker in path for marker in _RUBY_NOT_APP)


def _panic_frame(frames: Sequence[Frame], file: str | None, line: int | None) -> Frame | None:
    """Where a Rust panic happened: its own location (the caller, for ``#[track_caller]`` functions such
    as ``unwrap``), with the function of the backtrace frame at that line, else the innermost
    application frame's (none without ``RUST_BACKTRACE``)."""
    if file is None or line is None:
        return None
    same = [f for f in frames if f.line == line and f.file.endswith(file.lstrip("./"))]
    caller = same[-1] if same else _innermost(frames)
    return Frame(file, line, caller.function if caller else "", True)


def _embedded_language(texts: Sequence[str], exc_text: str) -> str:
    first = next((t for t in texts if t.strip()), "")
    if any(TB_START.match(t) for t in texts[:3]):
        return "python"
    if GO_START.match(first):
        return "go"
    if RUST_START.match(first):
        return "rust"
    if RUBY_START.match(first):
        return "ruby"
    if dotnet.DOTNET_START.match(first) or any(dotnet.SOURCE_FRAME.match(t) for t in texts[:50]):
        return "dotnet"
    return "node" if "    at " in exc_text else "java"


def _from_message(message: str) -> tuple[str, str]:
    text = message.strip()
    if m := _LOG_DOTTED.match(text):
        return m.group("type"), (m.group("msg") or "").strip()
    if m := _LOG_TYPE.search(text):
        msg = (m.group("msg") or "").strip()
        return m.group("type"), msg or text
    return GENERIC_TYPE, text


def _capped(text: str) -> str:
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    return f"{text[:MAX_MESSAGE_CHARS]}... [{len(text) - MAX_MESSAGE_CHARS} more characters]"


def extract(unit: Unit, in_app: InAppConfig = DEFAULT_IN_APP) -> ErrorEvent:
    """Build the (unclassified) error event of an error unit."""
    lines: tuple[ParsedLine, ...] = unit.lines
    head = lines[0]
    texts = [line.message for line in lines]
    log_message: str | None = None
    chained: tuple[str, ...] = ()
    frames: tuple[Frame, ...] = ()
    incomplete = unit.incomplete
    language = unit.kind
    panic_at: Frame | None = None
    if unit.kind == "embedded" and head.exc_text:
        log_message = head.message
        texts = head.exc_text.splitlines()
        language = _embedded_language(texts, head.exc_text)
        if language == "go":
            error_type, message, frames = _go(texts, in_app)
        elif language == "rust":
            error_type, message, frames, panic_file, panic_line = _rust(texts, in_app)
            panic_at = _panic_frame(frames, panic_file, panic_line)
        elif language == "ruby":
            error_type, message, frames, chained = _ruby(texts, in_app)
        elif language == "dotnet":
            error_type, message, frames, chained = dotnet.parse(texts, in_app.is_in_app)
        elif language == "python":
            error_type, message, frames, chained, missing = _python(texts, in_app)
            incomplete = incomplete or missing
        else:
            error_type, message, frames, chained = _stack(texts, in_app, language)
    elif unit.kind == "python":
        if not TB_START.match(texts[0]) and not texts[0].lstrip().startswith("File"):
            log_message, texts = texts[0], texts[1:]
        error_type, message, frames, chained, missing = _python(texts, in_app)
        incomplete = incomplete or missing
    elif unit.kind in ("java", "node") and any(dotnet.SOURCE_FRAME.match(t) for t in texts[:50]):
        language = "dotnet"  # a logged .NET exception: its type line and frames, without "Unhandled"
        error_type, message, frames, chained = dotnet.parse(texts, in_app.is_in_app)
    elif unit.kind in ("java", "node"):
        error_type, message, frames, chained = _stack(texts, in_app, unit.kind)
        if error_type == GENERIC_TYPE and head.is_error_level:
            log_message = head.message
    elif unit.kind == "go":
        error_type, message, frames = _go(texts, in_app)
    elif unit.kind == "ruby":
        error_type, message, frames, chained = _ruby(texts, in_app)
    elif unit.kind == "dotnet":
        error_type, message, frames, chained = dotnet.parse(texts, in_app.is_in_app)
    elif unit.kind == "rust":
        error_type, message, frames, panic_file, panic_line = _rust(texts, in_app)
        panic_at = _panic_frame(frames, panic_file, panic_line)
    else:
        error_type, message = _from_message(head.message)
        log_message = head.message
    where = panic_at or (dotnet.where(frames) if language == "dotnet" else _innermost(frames))
    message = _capped(message)
    if log_message is not None:
        log_message = _capped(log_message)
    if log_message is not None and not log_message.strip():
        log_message = None
    level = next((line.level for line in lines if line.level), None)
    return ErrorEvent(
        error_type=error_type,
        message=message,
        line_start=unit.line_start,
        line_end=unit.line_end,
        file=(where.file or None) if where else None,
        line=where.line if where else None,
        function=(where.function or None) if where else None,
        frames=frames,
        language=language,
        logger=next((line.logger for line in lines if line.logger), None),
        level=level,
        timestamp=head.timestamp,
        service=head.service,
        deployment=head.deployment,
        stream=head.stream,
        log_message=log_message,
        incomplete=incomplete,
        chained=chained,
    )
