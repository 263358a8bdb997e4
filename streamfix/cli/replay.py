"""``streamfix replay FILE --service NAME``: publish a log file to the raw topic as batches."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from streamfix.core.formats import FORMATS
from streamfix.errors import StreamfixError
from streamfix.runtime.logs import configure_logging
from streamfix.runtime.settings import load_settings


@click.command("replay")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--service", required=True, help="Service name the lines belong to (a label on every batch).")
@click.option("--deployment", default=None, help="Deployment id label (optional).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto",
              show_default=True, help="Line format; auto-detected by the worker when 'auto'.")
@click.option(
    "--batch-size", type=int, default=None, help="Lines per batch (default: STREAMFIX_BATCH_MAX_LINES)."
)
@click.option("--auto-fix", is_flag=True, help="Allow fix requests for errors in these lines.")
def command(file: Path, service: str, deployment: str | None, fmt: str, batch_size: int | None,
            auto_fix: bool) -> None:
    """Publish FILE (one log line per line) to the raw topic, keyed by service."""
    from streamfix.tools.replay import replay

    settings = load_settings()
    configure_logging(settings, process="replay")
    try:
        result = asyncio.run(replay(settings, file, service=service, fmt=fmt, auto_fix=auto_fix,
                                    batch_size=batch_size, deployment=deployment))
    except StreamfixError as exc:
        click.echo(f"streamfix replay: {exc}", err=True)
        sys.exit(1)
    rate = result.lines / result.seconds if result.seconds > 0 else 0.0
    click.echo(f"published {result.lines} lines in {result.batches} batches ({rate:,.0f} lines/s)", err=True)
