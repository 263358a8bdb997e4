"""``streamfix worker`` and ``streamfix fixer``: run a Faust worker process."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys

import click

from streamfix.errors import BrokerError
from streamfix.kafka.clients import ensure_topics
from streamfix.runtime.logs import configure_logging
from streamfix.runtime.settings import load_settings

_web_port = click.option("--web-port", type=int, default=None,
                         help="Port of the web server (default: STREAMFIX_WEB_PORT).")
_log_level = click.option(
    "--log-level", default=None, help="Log level (default: STREAMFIX_LOG_LEVEL or INFO)."
)


def _run(role: str, web_port: int | None, log_level: str | None) -> None:
    from faust.worker import Worker

    from streamfix.runtime.app import create_app

    overrides: dict[str, object] = {}
    if web_port is not None:
        overrides["web_port"] = web_port
    if log_level is not None:
        overrides["log_level"] = log_level
    settings = load_settings(**overrides)
    # streamfix's structured logging (JSON with trace ids, secrets redacted, optionally shipped to Loki)
    configure_logging(settings, process=role)
    # A worker that joins its group before its topics exist is assigned nothing and stays idle,
    # so the topics are created (with their partitions and retention) before Faust starts.
    try:
        asyncio.run(ensure_topics(settings))
    except BrokerError as exc:
        click.echo(f"streamfix {role}: {exc}", err=True)
        sys.exit(1)
    sf = create_app(settings, role=role)
    # Tables of many small dicts make CPython's full collections long (a quarter of a second with 10k
    # patterns); collecting young objects less often keeps those pauses out of the API's tail latency.
    gc.set_threshold(100_000, 50, 100)
    level = settings.log_level.upper()

    class _Worker(Worker):
        def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
            # Faust's logging setup runs logging.config.dictConfig, which closes every existing handler
            # (the Loki shipper's thread with it); streamfix's handlers are installed again after it.
            configure_logging(settings, process=role)

    _Worker(
        sf.app, loglevel="warn" if level == "WARNING" else level.lower(), quiet=True,
        logging_config={"version": 1, "disable_existing_loggers": False, "root": {"level": level}},
    ).execute_from_commandline()


@click.command("worker")
@_web_port
@_log_level
def command(web_port: int | None, log_level: str | None) -> None:
    """Run a worker: agents, tables, REST API, dashboard, /metrics. Start as many as there are
    partitions; they share the work."""
    _run("worker", web_port, log_level)


@click.command("fixer")
@_web_port
@_log_level
def fixer_command(web_port: int | None, log_level: str | None) -> None:
    """Run only the fix consumer (Claude analysis, branches, pull requests, PR tracking), as its own
    consumer group. Set STREAMFIX_FIXER_IN_WORKER=false on the workers when you run it."""
    _run("fixer", web_port, log_level)
