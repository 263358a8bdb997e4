"""Per-line prefixes added by the platform that collected a line, detected and stripped without configuration.

A container runtime, an orchestrator or a log daemon writes its own prefix in front of every line the
program printed, so a traceback's ``  File "..."`` lines no longer start a line and lines of several
replicas interleave. :func:`strip_prefix` recognises these prefixes and returns the program's own text
(indentation kept), the prefix's timestamp and the source named in it:

==========================  ============================================================================
docker / docker compose     ``api-1  | text``, ``api-1  | 2026-11-28T12:00:00.123456789Z text``
docker ``--timestamps``     ``2026-11-28T12:00:00.123456789Z text``
kubectl ``--prefix``        ``[pod/api-7d9f/api] 2026-11-28T12:00:00.123456789Z text`` (timestamp optional)
journald / RFC 3164         ``Nov 28 12:00:00 host api[123]: text``, ``<11>Nov 28 ... api[123]: text``,
                            ``2026-11-28T12:00:00+0000 host api[123]: text`` (``journalctl -o short-iso``)
RFC 5424                    ``<11>1 2026-11-28T12:00:00.000Z host api 123 - - text``
Heroku                      ``2026-11-28T12:00:00.123456+00:00 app[web.1]: text``, ``... heroku[router]: at=...``
timestamp and replica       ``2026-11-28T12:00:00.123Z 7f3a9c2e text`` (a replica or instance id after the time)
==========================  ============================================================================

The source (container, pod and container, host and process and pid, dyno, replica) becomes labels of
the line and part of its stream key, so interleaved replicas are assembled separately. The prefix
separator is one space: everything after it is the program's text, so indentation survives.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_ISO = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})"
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d{2}:\d{2}:\d{2}(?:\.\d{1,9})?"
_END = r"(?: |$)"  # the one separator space, or nothing for an empty line

_COMPOSE = re.compile(rf"(?P<tag>[A-Za-z0-9][\w.\-]{{0,127}}) +\|{_END}(?:(?P<ts>{_ISO}){_END})?")
_KUBECTL = re.compile(rf"\[(?P<kind>pod|deployment|statefulset|daemonset|job|replicaset)/(?P<pod>[^\]/\s]+)/(?P<container>[^\]/\s]+)\]{_END}(?:(?P<ts>{_ISO}){_END})?")
_PROG = r"(?P<prog>[\w.\-/@]{1,64})"
_PID = r"\[(?P<pid>[\w.\-]{1,64})\]"
# RFC 3164 / journald "short": the pid is optional. With an ISO time ("short-iso") the pid is required, so
# "<time> <replica> ValueError: ..." is never taken for a host and a program.
_SYSLOG_MONTH = re.compile(rf"(?P<ts>{_MONTH}) (?P<host>[\w.\-:]{{1,255}}) {_PROG}(?:{_PID})?:{_END}")
_SYSLOG_ISO = re.compile(rf"(?P<ts>{_ISO}) (?P<host>[\w.\-:]{{1,255}}) {_PROG}{_PID}:{_END}")
_HEROKU = re.compile(rf"(?P<ts>{_ISO}) (?P<source>app|heroku|api)\[(?P<dyno>[\w.\-]{{1,64}})\]:{_END}")
_ISO_ONLY = re.compile(rf"(?P<ts>{_ISO})(?: |$)")
_REPLICA = re.compile(r"(?P<tag>[0-9A-Za-z][\w.\-]{1,63})(?: |$)")
_REPLICA_SHAPE = re.compile(r"(?=[\w.\-]*\d)(?=[\w.\-]*[A-Za-z])[\w.\-]+")
_DATE_LIKE = re.compile(r"\d{2,4}[-/:]\d")
# A replica written as a plain word ("web", "worker") is only recognised when what follows it is
# unmistakably program output of an error: an indented line, a traceback or chain header, an exception
# line, or the start of a Go, Rust, Java or .NET trace. Other lines of that replica keep the word in their text.
_WORD_TAG = re.compile(r"[A-Za-z][\w\-]{0,63}")
_NOT_WORD_TAG = re.compile(r".*(?:Error|Exception|Warning|Interrupt|Exit|Timeout|Fault)$")
_TRACE_REST = re.compile(
    r"\s|\+ Exception Group Traceback|Traceback \(most recent call last\):"
    r"|During handling of the above exception|The above exception was the direct cause"
    r"|(?:[A-Za-z_]\w*\.)*(?:[A-Z]\w*)?(?:Error|Exception|Warning|Interrupt|Exit|Timeout|Fault)(?::|$)"
    r"|panic: |fatal error: |thread '[^']*'.* panicked at |Exception in thread |Caused by: |goroutine \d+ \["
    r"|stack backtrace:$|[\w./*\[\]{}$-]+\(.*\)$|(?:/|[A-Za-z]:\\|\./)[^\s:]*:\d+"
    r"|Unhandled Exception:$|Unhandled exception\. |\[ERROR\] FATAL UNHANDLED EXCEPTION: |---> "
)
_MONO_HEADER = re.compile(r"Unhandled Exception:\s*$")  # Mono's: "Unhandled" is not a replica
_PRI = re.compile(r"<(?P<pri>\d{1,3})>")
_RFC5424 = re.compile(
    rf"1 (?P<ts>{_ISO}|-) (?P<host>\S{{1,255}}) (?P<app>\S{{1,48}}) (?P<procid>\S{{1,128}}) (?P<msgid>\S{{1,32}}) "
    r"(?P<sd>-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (?:\ufeff)?|$)"
)
_ROUTER_AT = re.compile(r"at=(?P<at>info|warning|error)\b")
_REPLICA_SUFFIX = re.compile(r"[-_]\d+$")
_SYSLOG_LEVELS = ("CRITICAL", "CRITICAL", "CRITICAL", "ERROR", "WARNING", "INFO", "INFO", "DEBUG")
# Words that can follow a timestamp in a program's own header: never a replica id.
_NOT_REPLICA = frozenset({"trace", "debug", "info", "notice", "warn", "warning", "error", "err", "crit", "critical",
                          "fatal", "exception", "traceback"})
_PREFIX_START = frozenset("0123456789[<abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class Prefix(NamedTuple):
    """What a platform prefix said about a line."""

    text: str  # the program's own text, indentation kept
    timestamp: str | None
    labels: tuple[tuple[str, str], ...]  # sorted by key
    service: str | None = None
    level: str | None = None  # only from the prefix itself (syslog priority, Heroku router ``at=``)


def _syslog_level(pri: str | None) -> str | None:
    if pri is None:
        return None
    value = int(pri)
    return _SYSLOG_LEVELS[value % 8] if value < 192 else None


def _labels(*pairs: tuple[str, str | None]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((key, value) for key, value in pairs if value))


def _syslog(text: str, pos: int, pri: str | None) -> Prefix | None:
    if m := (_SYSLOG_ISO if text[pos:pos + 1].isdigit() else _SYSLOG_MONTH).match(text, pos):
        prog = m.group("prog")
        return Prefix(text[m.end():], m.group("ts"),
                      _labels(("hostname", m.group("host")), ("process", prog), ("pid", m.group("pid"))),
                      prog.rsplit("/", 1)[-1], _syslog_level(pri))
    return None


def _after_iso(text: str) -> Prefix | None:
    if m := _HEROKU.match(text):
        rest = text[m.end():]
        source, dyno = m.group("source"), m.group("dyno")
        level = None
        if source == "heroku" and (at := _ROUTER_AT.match(rest)):
            level = {"info": "INFO", "warning": "WARNING", "error": "ERROR"}[at.group("at")]
        service = dyno.split(".", 1)[0]
        return Prefix(rest, m.group("ts"), _labels(("process", source), ("dyno", dyno)), service, level)
    if found := _syslog(text, 0, None):
        return found
    m = _ISO_ONLY.match(text)
    if m is None:
        return None
    pos = m.end()
    if (r := _REPLICA.match(text, pos)) and (tag := r.group("tag")).lower() not in _NOT_REPLICA:
        rest = text[r.end():]
        if _REPLICA_SHAPE.fullmatch(tag) and not _DATE_LIKE.match(tag):
            return Prefix(rest, m.group("ts"), (("replica", tag),))
        blank = not rest and text.endswith(" ")  # "<time> web " is the replica's empty line
        if _WORD_TAG.fullmatch(tag) and not _NOT_WORD_TAG.match(tag) and (blank or _TRACE_REST.match(rest)) \
                and not _MONO_HEADER.match(text, pos):
            return Prefix(rest, m.group("ts"), (("replica", tag),))
    return Prefix(text[pos:], m.group("ts"), ())


def strip_prefix(text: str) -> Prefix | None:
    """The platform prefix of one line, or ``None`` when the line has none of the known prefixes."""
    first = text[:1]
    if not first or first not in _PREFIX_START:
        return None
    if first == "[":
        if m := _KUBECTL.match(text):
            container = m.group("container")
            return Prefix(text[m.end():], m.group("ts"), _labels(("pod", m.group("pod")), ("container", container)),
                          container)
        return None
    if first == "<":
        if (p := _PRI.match(text)) is None:
            return None
        pri = p.group("pri")
        if m := _RFC5424.match(text, p.end()):
            ts = m.group("ts")
            procid = m.group("procid")
            app = m.group("app")
            return Prefix(text[m.end():], None if ts == "-" else ts,
                          _labels(("hostname", m.group("host")), ("process", None if app == "-" else app),
                                  ("pid", None if procid == "-" else procid)),
                          None if app == "-" else app, _syslog_level(pri))
        return _syslog(text, p.end(), pri)
    if first.isdigit():
        if len(text) > 19 and text[4] == "-" and text[10] == "T":
            return _after_iso(text)
        if (m := _COMPOSE.match(text)) is not None:
            return _compose(text, m)
        return None
    if text[3:4] == " " and (found := _syslog(text, 0, None)):
        return found
    if (m := _COMPOSE.match(text)) is not None:
        return _compose(text, m)
    return None


def _compose(text: str, m: re.Match[str]) -> Prefix | None:
    tag = m.group("tag")
    if tag.lower() in _NOT_REPLICA:  # "ERROR    | message": a program's own level column
        return None
    return Prefix(text[m.end():], m.group("ts"), (("container", tag),), _REPLICA_SUFFIX.sub("", tag))
