"""``streamfix worker``: run the Faust worker (agents, tables, REST API, dashboard, /metrics)."""

from __future__ import annotations

import click

from streamfix.settings import load_settings


@click.command("worker")
@click.option("--web-port", type=int, default=None, help="Port of the web server (default: STREAMFIX_WEB_PORT).")
@click.option("--log-level", default=None, help="Log level (default: STREAMFIX_LOG_LEVEL or INFO).")
def command(web_port: int | None, log_level: str | None) -> None:
    """Run a worker. Start as many as there are partitions; they share the work."""
    from faust.worker import Worker

    from streamfix.app import create_app

    overrides: dict[str, object] = {}
    if web_port is not None:
        overrides["web_port"] = web_port
    if log_level is not None:
        overrides["log_level"] = log_level
    settings = load_settings(**overrides)
    sf = create_app(settings)
    level = settings.log_level.lower()
    worker = Worker(sf.app, loglevel="warn" if level == "warning" else level, quiet=True)
    worker.execute_from_commandline()
