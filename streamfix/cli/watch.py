"""``streamfix watch railway|loki|file|stdin`` and ``streamfix scan``.

Each command reads the settings once, sets up logging, runs its source until interrupted (SIGINT or
SIGTERM flush the last batch and write the cursors) and turns a missing CLI, URL, credential or
broker into one ``error:`` line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, TypeVar

import click

from streamfix.core.formats import FORMATS
from streamfix.errors import StreamfixError
from streamfix.runtime.settings import Settings, load_settings

T = TypeVar("T")
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}
EXIT_ERROR = 1
EXIT_CONFIG = 2


_redact: list[Callable[[str], str]] = []


def _settings(log_level: str | None, process: str, **overrides: Any) -> Settings:
    from streamfix.runtime.logs import Redactor, configure_logging, secret_values

    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        _fail(f"invalid settings: {exc}", EXIT_CONFIG)
    configure_logging(settings, process=process, level=log_level)
    _redact[:] = [Redactor(secret_values(settings))]
    return settings


def _fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """One error line on stderr (secrets and token-shaped strings redacted), then exit."""
    for redact in _redact:
        message = redact(message)
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    click.echo(f"streamfix: error: {first}", err=True)
    sys.exit(code)


def _run(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine; SIGINT/SIGTERM cancel it (so it can flush); errors become one line."""
    from streamfix.errors import ConfigError

    stopped: list[int] = []

    async def main() -> T:
        task = asyncio.ensure_future(factory())
        loop = asyncio.get_running_loop()

        def stop(sig: int) -> None:
            stopped.append(sig)
            task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop, sig)
        return await task

    try:
        return asyncio.run(main())
    except asyncio.CancelledError:
        click.echo("stopped; last batch flushed and cursors written", err=True)
        sys.exit(0 if stopped and stopped[0] == signal.SIGTERM else 130)
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)
    except StreamfixError as exc:
        _fail(str(exc))
    except ExceptionGroup as group:
        matched, rest = group.split(StreamfixError)
        if matched is None or rest is not None:
            raise
        _fail("; ".join(str(e) for e in _leaves(matched)))


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return out


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
                        default=None, help="Level of streamfix's own logs (default: STREAMFIX_LOG_LEVEL or INFO).")(func)
    return click.option("--auto-fix/--no-auto-fix", default=False, show_default=True,
                        help="Mark the published batches so their errors may trigger fix requests.")(func)


@click.group("watch", context_settings=CONTEXT)
def command() -> None:
    """Follow a log source and publish its lines, in batches, to the raw topic (<prefix>.logs.raw)."""


@command.command("railway", context_settings=CONTEXT)
@click.option("--service", "-s", "services", multiple=True, metavar="NAME",
              help="Service to watch; repeat for several (default: every service of the linked project).")
@click.option("--environment", "-e", default=None, metavar="ENV", help="Railway environment (default: the linked one).")
@click.option("--interval", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
              help="Poll history every SECONDS (railway logs --since) instead of streaming.")
@click.option("--verify-every", type=click.FloatRange(min=1), default=10.0, show_default=True, metavar="SECONDS",
              help="Streaming: re-read streamed time ranges as history this often (the stream skips lines).")
@click.option("--page-lines", type=click.IntRange(min=2), default=500, show_default=True, metavar="N",
              help="Lines per history window (railway logs --lines N); a window returning N is split.")
@click.option("--railway-bin", default=None, metavar="PATH",
              help="The Railway CLI executable (default: STREAMFIX_RAILWAY_BIN or 'railway'; npx @railway/cli "
                   "when it is missing).")
@click.option("--since", "since", default=None, metavar="TIME",
              help="Without a saved cursor, start here (30m, 2h, 1d or RFC 3339; default: the start of the "
                   "current deployment's log).")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None, metavar="PATH",
              help="Also append streamfix's own logs to PATH (reopened when logrotate moves it).")
@_common
def railway_cmd(services: tuple[str, ...], environment: str | None, interval: float | None, verify_every: float,
                page_lines: int, railway_bin: str | None, since: str | None, log_file: str | None,
                auto_fix: bool, log_level: str | None) -> None:
    """Watch `railway logs --json` per service: streamed under a pseudo-terminal (or polled with
    --interval), with gaps filled from history windows.

    Resumes after any restart from the cursor kept on <prefix>.source-cursors and publishes every
    line once (a line printed twice at one timestamp, twice).
    """
    from streamfix.core.railway_history import parse_since
    from streamfix.sources.railway import RailwayOptions
    from streamfix.sources.runner import watch_railway

    settings = _settings(log_level, "watch-railway", railway_bin=railway_bin)
    if log_file:
        _log_to_file(log_file)
    try:
        since_ns = parse_since(since, time.time_ns()) if since else 0
    except ValueError as exc:
        _fail(f"--since: {exc}", EXIT_CONFIG)
    options = RailwayOptions(interval=interval, page_lines=page_lines, verify_every=verify_every, since_ns=since_ns)
    _run(lambda: watch_railway(settings, services=services, environment=environment, options=options,
                               auto_fix=auto_fix))


def _log_to_file(path: str) -> None:
    """A WatchedFileHandler next to the console handler (same format and filters), so logrotate can move the file."""
    import logging
    import logging.handlers

    root = logging.getLogger()
    try:
        handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot open log file {path}: {exc}", EXIT_CONFIG)
    if root.handlers:
        handler.setFormatter(root.handlers[0].formatter)
        for filt in root.handlers[0].filters:
            handler.addFilter(filt)
    root.addHandler(handler)


def _loki_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed((
        click.option("--query", "-q", default=None, metavar="LOGQL",
                     help="LogQL stream selector, e.g. '{app=\"api\"}' (default: STREAMFIX_LOKI_QUERY)."),
        click.option("--url", default=None, metavar="URL", help="Loki base URL (default: STREAMFIX_LOKI_URL)."),
        click.option("--org-id", default=None, metavar="ID",
                     help="X-Scope-OrgID tenant header (default: STREAMFIX_LOKI_ORG_ID). Credentials come from "
                          "STREAMFIX_LOKI_TOKEN (bearer) or STREAMFIX_LOKI_USERNAME/STREAMFIX_LOKI_PASSWORD."),
    )):
        func = option(func)
    return func


@command.command("loki", context_settings=CONTEXT)
@_loki_options
@click.option("--interval", type=click.FloatRange(min=0.1), default=None, metavar="SECONDS",
              help="Seconds between polls (default: STREAMFIX_LOKI_POLL_INTERVAL or 5).")
@click.option("--live", is_flag=True, help="Tail over the websocket API; falls back to polling when refused.")
@_common
def loki_cmd(query: str | None, url: str | None, org_id: str | None, interval: float | None, live: bool,
             auto_fix: bool, log_level: str | None) -> None:
    """Poll Loki's query_range forward from the last timestamp published (or tail it with --live)."""
    from streamfix.sources.loki import preflight, target_from_settings
    from streamfix.sources.runner import watch_loki

    settings = _settings(log_level, "watch-loki")
    try:
        target = target_from_settings(settings, url=url, query=query, org_id=org_id)
    except StreamfixError as exc:
        _fail(str(exc), EXIT_CONFIG)
    _run(lambda: preflight(settings, target))
    _run(lambda: watch_loki(settings, target, interval=interval, live=live, auto_fix=auto_fix))


@command.command("file", context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--from-end", is_flag=True, help="Start at the current end of each file instead of its start.")
@click.option("--interval", type=click.FloatRange(min=0.01), default=0.25, show_default=True, metavar="SECONDS",
              help="How often to check the files for new lines, rotation and truncation.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto",
              show_default=True, help="Format of the lines, passed on to the parser.")
@_common
def file_cmd(paths: tuple[str, ...], from_end: bool, interval: float, fmt: str, auto_fix: bool,
             log_level: str | None) -> None:
    """Follow files like `tail -F`: across rotation (rename or replace) and truncation."""
    from streamfix.sources.runner import watch_files

    settings = _settings(log_level, "watch-file")
    _run(lambda: watch_files(settings, paths, interval=interval, from_start=not from_end, auto_fix=auto_fix,
                             fmt=fmt))  # type: ignore[arg-type]


@command.command("stdin", context_settings=CONTEXT)
@click.option("--name", default="stdin", show_default=True, help="Stream name (the Kafka key) of the lines.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto",
              show_default=True, help="Format of the lines, passed on to the parser.")
@_common
def stdin_cmd(name: str, fmt: str, auto_fix: bool, log_level: str | None) -> None:
    """Read lines from a pipe until EOF and publish them."""
    from streamfix.sources.runner import watch_stdin

    settings = _settings(log_level, "watch-stdin")
    count = _run(lambda: watch_stdin(settings, name=name, auto_fix=auto_fix, fmt=fmt))  # type: ignore[arg-type]
    click.echo(f"published {count} lines")


@click.command("scan", context_settings=CONTEXT)
@click.option("--hours", type=click.FloatRange(min=0, min_open=True), required=True, metavar="N",
              help="Backfill the last N hours.")
@_loki_options
@_common
def scan_command(hours: float, query: str | None, url: str | None, org_id: str | None, auto_fix: bool,
                 log_level: str | None) -> None:
    """Backfill the last N hours from Loki onto the raw topic (progress on a terminal)."""
    from streamfix.kafka.clients import Publisher, ensure_topics
    from streamfix.sources.loki import ScanResult, preflight, scan, target_from_settings
    from streamfix.sources.runner import SOURCE_TOPICS
    from streamfix.tools.progress import Progress

    settings = _settings(log_level, "scan")
    try:
        target = target_from_settings(settings, url=url, query=query, org_id=org_id)
    except StreamfixError as exc:
        _fail(str(exc), EXIT_CONFIG)
    _run(lambda: preflight(settings, target))

    async def run() -> ScanResult:
        await ensure_topics(settings, SOURCE_TOPICS)
        now = time.time_ns()
        span = hours * 3600 * 1e9
        with Progress(sys.stderr, label="scan", total=span) as progress:

            def on_page(entries: int, last_ts_ns: int) -> None:
                progress.update(entries, position=span - max(0, now - last_ts_ns))

            async with Publisher(settings) as pub:
                result = await scan(settings, hours, auto_fix, pub, url=url, query=query, org_id=org_id,
                                    on_page=on_page, now_ns=now)
            progress.update(0, position=span)
            return result

    result = _run(run)
    click.echo(f"scanned {result.lines} lines in {result.pages} pages, {result.batches} batches, "
               f"{result.duration_s:.1f}s")
