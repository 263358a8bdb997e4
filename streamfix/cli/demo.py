"""``streamfix demo``: run the pipeline end to end on bundled sample logs."""

from __future__ import annotations

import logging
import secrets
import signal
import sys
import threading
import uuid
from pathlib import Path

import click

from streamfix.errors import StreamfixError
from streamfix.runtime.settings import load_settings


@click.command("demo")
@click.option(
    "--file",
    "sample",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Railway JSON lines to replay (default: the bundled sample).",
)
@click.option(
    "--timeout", type=float, default=120.0, show_default=True, help="Seconds to wait for the counts."
)
@click.option(
    "--serve/--no-serve",
    default=None,
    help="Keep the worker serving the API and dashboard until Ctrl-C (default: when run in a terminal).",
)
def command(sample: Path | None, timeout: float, serve: bool | None) -> None:
    """Start Kafka (if needed) and a worker, replay sample logs, print the error patterns."""
    from streamfix.kafka.local import LocalKafka, answers_metadata
    from streamfix.tools.demo import SAMPLES, DemoResult, format_table, run_demo, try_commands

    # fresh topics elect their leaders while the first batches go out; aiokafka retries those sends and
    # says so at WARNING, which is noise in a demo's output
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    if serve is None:
        serve = sys.stdin.isatty() and sys.stdout.isatty()
    tag = f"demo-{uuid.uuid4().hex[:8]}"
    settings = load_settings(app_id=tag, topic_prefix=tag)
    token = secrets.token_urlsafe(18)
    local = None
    host, _, port = settings.bootstrap_servers.split(",")[0].rpartition(":")
    if host in ("127.0.0.1", "localhost") and not answers_metadata(int(port)):
        local = LocalKafka(load_settings(kafka_port=int(port)))
        click.echo(f"starting a local Kafka broker on 127.0.0.1:{port} ...", err=True)

    def show(result: DemoResult) -> None:
        click.echo(
            f"{result.lines} lines replayed; {result.expected_events} error events in "
            f"{len(result.patterns)} patterns:\n"
        )
        click.echo(format_table(result.patterns))
        if not serve:
            return
        base = f"http://localhost:{settings.web_port}/error-monitor"
        first = str(result.patterns[0]["fingerprint"]) if result.patterns else None
        click.echo(f"\nThe worker keeps serving. Dashboard: {base}/ui\nAPI token for POSTs: {token}\nTry:")
        for cmd in try_commands(base, token, first):
            click.echo(f"  {cmd}")
        click.echo("\nPress Ctrl-C to stop.", nl=True)
        sys.stdout.flush()
        stop = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
        click.echo("\nstopping ...", err=True)

    try:
        if local is not None:
            local.up()
        run_demo(
            settings,
            sample or SAMPLES / "railway_sample.jsonl",
            timeout=timeout,
            log_path=Path(".cache") / f"{tag}-worker.log",
            api_token=token,
            hold=show,
        )
    except StreamfixError as exc:
        click.echo(f"streamfix demo: {exc}", err=True)
        sys.exit(1)
    finally:
        if local is not None:
            local.down()
