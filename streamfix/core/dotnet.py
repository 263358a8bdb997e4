""".NET exceptions, as Mono and .NET (Core) print them when one is unhandled.

Mono::

    Unhandled Exception:
    System.InvalidOperationException: bad order ---> System.FormatException: Input string was not ...
      at System.Int32.Parse (System.String s) [0x00019] in <12b418a7818c4ca0893feeaaf67f1e7f>:0
      at Orders.OrderParser.Quantity (System.String raw) [0x00002] in /src/Orders.cs:14
       --- End of inner exception stack trace ---
      at Orders.OrderParser.Handle (System.String raw) [0x00016] in /src/Orders.cs:25
    [ERROR] FATAL UNHANDLED EXCEPTION: System.InvalidOperationException: bad order ---> ...

(the ``[ERROR] FATAL UNHANDLED EXCEPTION`` part repeats the first and is ignored), and .NET (Core)::

    Unhandled exception. System.InvalidOperationException: bad order
     ---> System.FormatException: The input string 'twelve' was not in a correct format.
       at System.Int32.Parse(String s)
       at Orders.OrderParser.Quantity(String raw) in /src/Orders.cs:line 14
       --- End of inner exception stack trace ---
       at Orders.OrderParser.Handle(String raw) in /src/Orders.cs:line 25

The innermost exception (the root cause) is reported with the frames printed first (its own); the
outer exceptions are chained, outermost first, as for Java's ``Caused by:``. An AggregateException's
``---> (Inner Exception #N)`` sections repeat its inner exceptions and are not read again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from streamfix.core.models import Frame

GENERIC_TYPE = "LoggedError"

# Where an unhandled .NET exception starts: Mono's "Unhandled Exception:" line (the exception on the next
# line), .NET's "Unhandled exception. TYPE: MESSAGE", Mono's "[ERROR] FATAL UNHANDLED EXCEPTION: ..."
# (after a log header is parsed off, only "FATAL UNHANDLED EXCEPTION: ..." is left).
DOTNET_START = re.compile(
    r"^(?:Unhandled Exception:\s*$|Unhandled exception\. \S|(?:\[ERROR\] )?FATAL UNHANDLED EXCEPTION: )"
)
DOTNET_REPEAT = re.compile(r"^(?:\[ERROR\] )?FATAL UNHANDLED EXCEPTION: ")
# What continues one: frames, the inner-exception markers, an AggregateException's inner sections
# ("---> (Inner Exception #0) ..." ending with "<---"), blank lines.
DOTNET_LINE = re.compile(
    r"^(?:\s+at \S|\s*--- End of (?:inner exception stack trace|stack trace from previous location)"
    r"|\s*---> \S|.*<---\s*$|\s*$)"
)
_HEAD_PREFIX = re.compile(r"^(?:Unhandled exception\. |(?:\[ERROR\] )?FATAL UNHANDLED EXCEPTION: )")
# "TYPE: MESSAGE", "TYPE (0x80004005): MESSAGE" (an HResult or error code, as Npgsql and sockets print it)
_EXC = re.compile(r"^(?P<type>[A-Za-z_][\w.`+]*)(?: \((?:0x[0-9A-Fa-f]+|-?\d+)\))?(?::\s?(?P<msg>.*))?$")
# "  at NS.Class.Method (args) [0x00002] in /src/File.cs:14", "... in <3f2a...>:0", "... <0x4a2b1 + 0x0001b>",
# "   at NS.Class.Method(args) in /src/File.cs:line 14", "   at NS.Class.Method(args)".
_FRAME = re.compile(
    r"^\s+at (?:\(wrapper [^)]*\) )?(?P<func>[^\s(]+?) ?\((?P<args>.*?)\)(?: \[0x[0-9a-f]+\])?"
    r"(?: in (?P<file>.+?):(?:line )?(?P<line>\d+)| <0x[0-9a-f]+(?: \+ 0x[0-9a-f]+)?>)?\s*$"
)
# A frame only .NET prints (Java's and Node's never have " in FILE:LINE" after the parentheses): tells a
# logged .NET exception ("System.X: msg" and frames, without an "Unhandled" header) from a Java or Node one.
SOURCE_FRAME = re.compile(r"^\s+at \S+ ?\([^)]*\) (?:\[0x[0-9a-f]+\] )?in \S.*:(?:line )?\d+\s*$")
_END_INNER = re.compile(r"^\s*--- End of inner exception stack trace ---")
_ASYNC_STATE_MACHINE = re.compile(r"\.<(?P<method>[^>]+)>d__\d+\.MoveNext$")
# The framework's namespaces and widely used libraries' (their frames rarely carry a source file, so the
# namespace is what tells them from application code).
_NOT_APP = (
    "System.", "Microsoft.", "Mono.", "MS.", "Internal.", "Npgsql.", "MySql.", "MySqlConnector.", "Oracle.",
    "MongoDB.", "StackExchange.", "Dapper.", "Newtonsoft.", "Grpc.", "Google.", "Amazon.", "Azure.", "Polly.",
    "Serilog.", "NLog.", "RestSharp.", "Hangfire.", "MediatR.", "AutoMapper.", "FluentValidation.", "Stripe.",
    "Twilio.", "SendGrid.", "Confluent.", "RabbitMQ.", "Castle.", "Autofac.", "NUnit.", "Xunit.",
)
# A frame whose "file" is an assembly id ("<12b418a7818c4ca0893feeaaf67f1e7f>") or unknown has no source.
_NO_FILE = re.compile(r"^<[^>]*>$")


def frame(text: str, path_in_app: Callable[[str], bool] = lambda _: True) -> Frame | None:
    """One .NET stack frame (Mono or .NET shape), or None. A frame without source (a release build,
    the framework's own code) has an empty file and no line; framework namespaces are not in-app."""
    m = _FRAME.match(text)
    if m is None:
        return None
    func = _ASYNC_STATE_MACHINE.sub(r".\g<method>", m.group("func"))
    app = not func.startswith(_NOT_APP)
    path = m.group("file")
    if path is None or _NO_FILE.match(path):
        return Frame("", None, func, app, func.rsplit(".", 1)[0])
    return Frame(path, int(m.group("line")), func, app and path_in_app(path), func.rsplit(".", 1)[0])


def where(frames: Sequence[Frame]) -> Frame | None:
    """The reported location: the innermost application frame with a source file, else the innermost
    application frame (its function, no file), else the innermost frame."""
    app = [f for f in frames if f.in_app]
    for candidates in ([f for f in app if f.file], app, list(frames)):
        if candidates:
            return candidates[-1]
    return None


def _exceptions(head: str) -> list[tuple[str, str]]:
    """The exceptions named by a header line, outermost first: ``A: x ---> B: y``."""
    out: list[tuple[str, str]] = []
    for part in head.split(" ---> "):
        m = _EXC.match(part.strip())
        if m is not None:
            out.append((m.group("type"), (m.group("msg") or "").strip()))
    return out


def parse(texts: Sequence[str], path_in_app: Callable[[str], bool] = lambda _: True,
          ) -> tuple[str, str, tuple[Frame, ...], tuple[str, ...]]:
    """(type, message, frames innermost last, outer types outermost first) of an unhandled .NET exception."""
    lines = [t for t in texts if t.strip()]
    start = 1 if lines and lines[0].strip() == "Unhandled Exception:" else 0
    body = lines[start:]
    # Mono repeats everything after "[ERROR] FATAL UNHANDLED EXCEPTION:": read the repeat only when it is
    # all there is.
    repeat = next((n for n, t in enumerate(body) if DOTNET_REPEAT.match(t)), None)
    if repeat is not None and repeat > 0:
        body = body[:repeat]
    if not body:
        return GENERIC_TYPE, "", (), ()
    exceptions = _exceptions(_HEAD_PREFIX.sub("", body[0].strip()))
    message_extra: list[str] = []
    frames: list[Frame] = []
    seen_frame = False
    for text in body[1:]:
        stripped = text.strip()
        if stripped.startswith("---> (Inner Exception #"):
            break  # an AggregateException's inner exceptions, printed again
        if _END_INNER.match(text):
            if frames:
                break  # the frames after this belong to the outer exceptions
            seen_frame = True  # an inner exception never thrown has no frames: the outer ones say where
            continue
        if (found := frame(text, path_in_app)) is not None:
            frames.append(found)
            seen_frame = True
        elif stripped.startswith("---> ") and not seen_frame:
            # .NET (Core) prints each inner exception on its own line
            exceptions.extend(_exceptions(stripped.removeprefix("---> ")))
        elif not seen_frame and not stripped.startswith("--- "):
            message_extra.append(stripped)
    if not exceptions:
        return GENERIC_TYPE, body[0].strip(), tuple(reversed(frames)), ()
    error_type, message = exceptions[-1]
    if message_extra:
        message = "\n".join([message, *message_extra]).strip()
    frames.reverse()  # innermost last, as in Python
    return error_type, message, tuple(frames), tuple(t for t, _ in exceptions[:-1])
