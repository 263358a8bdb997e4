"""``streamfix bench pipeline``: end-to-end throughput and latency through a real broker and worker."""

from __future__ import annotations

import sys

import click
import orjson

from streamfix.errors import StreamfixError
from streamfix.runtime.settings import load_settings


@click.group("bench")
def command() -> None:
    """Benchmarks that run the real pipeline."""


@command.command("pipeline")
@click.option("--lines", type=int, default=1_000_000, show_default=True, help="Lines in the throughput run.")
@click.option(
    "--error-rate", type=float, default=0.02, show_default=True, help="Share of lines that belong to errors."
)
@click.option("--streams", type=int, default=8, show_default=True, help="Log streams (services x replicas).")
@click.option("--batch-lines", type=int, default=1000, show_default=True, help="Lines per raw batch.")
@click.option(
    "--latency-rate", type=int, default=10_000, show_default=True, help="Lines/s of the latency run."
)
@click.option(
    "--latency-seconds", type=float, default=10.0, show_default=True, help="Length of the latency run."
)
@click.option("--baseline-lines", type=int, default=0, show_default=True,
              help="Also run the one-event-per-line Faust baseline on this many lines (0: skip).")
@click.option(
    "--distinct", type=int, default=None, help="Distinct variable values (memory test); default: all."
)
@click.option(
    "--workers", type=int, default=1, show_default=True, help="Worker processes sharing the partitions."
)
@click.option("--warmup-lines", type=click.IntRange(min=0), default=None,
              help="Lines sent through the pipeline (streams of their own) before the clock starts "
                   "(default 1,000,000); 0: measure a cold broker and worker.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def pipeline(
    lines: int,
    error_rate: float,
    streams: int,
    batch_lines: int,
    latency_rate: int,
    latency_seconds: float,
    baseline_lines: int,
    distinct: int | None,
    workers: int,
    warmup_lines: int | None,
    as_json: bool,
) -> None:
    """Drive a synthetic mixed stream through the broker and a worker; report lines/s and p50/p99 latency.

    Starts the local broker if none is configured and answering (and stops it afterwards).
    """
    from streamfix.bench.pipeline import WARMUP_LINES, as_dict, run_pipeline_bench
    from streamfix.kafka.local import LocalKafka, answers_metadata

    settings = load_settings()
    host, _, port = settings.bootstrap_servers.split(",")[0].rpartition(":")
    local = None
    if host in ("127.0.0.1", "localhost") and not answers_metadata(int(port)):
        local = LocalKafka(load_settings(kafka_port=int(port)))
    try:
        if local is not None:
            local.up()
        result = run_pipeline_bench(settings, lines=lines, error_rate=error_rate, streams=streams,
                                    batch_lines=batch_lines, latency_rate=latency_rate,
                                    latency_seconds=latency_seconds, baseline_lines=baseline_lines,
                                    distinct=distinct, workers=workers,
                                    warmup_lines=WARMUP_LINES if warmup_lines is None else warmup_lines)
    except StreamfixError as exc:
        click.echo(f"streamfix bench pipeline: {exc}", err=True)
        sys.exit(1)
    finally:
        if local is not None:
            local.down()
    data = as_dict(result)
    if as_json:
        click.echo(orjson.dumps(data).decode())
        return
    for key, value in data.items():
        click.echo(f"{key:>22}: {value:,.2f}" if isinstance(value, float) else f"{key:>22}: {value}")
