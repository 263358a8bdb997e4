"""``streamfix demo``: run the pipeline end to end on bundled sample logs."""

from __future__ import annotations

import logging
import sys
import uuid
from pathlib import Path

import click

from streamfix.errors import StreamfixError
from streamfix.runtime.settings import load_settings


@click.command("demo")
@click.option("--file", "sample", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Railway JSON lines to replay (default: the bundled sample).")
@click.option(
    "--timeout", type=float, default=120.0, show_default=True, help="Seconds to wait for the counts."
)
def command(sample: Path | None, timeout: float) -> None:
    """Start Kafka (if needed) and a worker, replay sample logs, print the error patterns."""
    from streamfix.kafka.local import LocalKafka, answers_metadata
    from streamfix.tools.demo import SAMPLES, format_table, run_demo

    # fresh topics elect their leaders while the first batches go out; aiokafka retries those sends and
    # says so at WARNING, which is noise in a demo's output
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    tag = f"demo-{uuid.uuid4().hex[:8]}"
    settings = load_settings(app_id=tag, topic_prefix=tag)
    local = None
    host, _, port = settings.bootstrap_servers.split(",")[0].rpartition(":")
    if host in ("127.0.0.1", "localhost") and not answers_metadata(int(port)):
        local = LocalKafka(load_settings(kafka_port=int(port)))
        click.echo(f"starting a local Kafka broker on 127.0.0.1:{port} ...", err=True)
    try:
        if local is not None:
            local.up()
        result = run_demo(settings, sample or SAMPLES / "railway_sample.jsonl", timeout=timeout,
                          log_path=Path(".cache") / f"{tag}-worker.log")
    except StreamfixError as exc:
        click.echo(f"streamfix demo: {exc}", err=True)
        sys.exit(1)
    finally:
        if local is not None:
            local.down()
    click.echo(f"{result.lines} lines replayed; {result.expected_events} error events in "
               f"{len(result.patterns)} patterns:\n")
    click.echo(format_table(result.patterns))
