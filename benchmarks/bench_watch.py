"""Throughput of one watcher into a real broker: lines/s from read to broker acknowledgement.

    python benchmarks/bench_watch.py --broker 127.0.0.1:19092 --lines 500000 --source railway
    python benchmarks/bench_watch.py --broker 127.0.0.1:19092 --lines 500000 --source file

``railway`` reads ``railway logs --json`` history from the fake CLI (tests/fakes/railway) through the
Railway watcher (one window holding every line: JSON parse, identity, ledger, batching); ``file``
follows a file of the same lines.
The clock starts when the watcher starts and stops when the broker has acknowledged every line; it
includes the fake CLI's start-up (it loads the whole log before printing). The watcher's own CPU time
(``time.process_time``: parsing, batching, encoding and the Kafka client) is reported too: lines per
CPU second is what one watcher sustains on one free core, whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamfix.kafka.clients import Publisher, ensure_topics
from streamfix.runtime.settings import Settings
from streamfix.sources.base import BatchPipeline
from streamfix.sources.files import follow_files
from streamfix.sources.railway import RailwayOptions, RailwayWatcher, SpawnLimiter
from tests.fakes import RAILWAY_BIN
from tests.fakes.railway_data import records, release


async def run(args: argparse.Namespace) -> tuple[float, float]:
    settings = Settings(
        broker=args.broker,
        topic_prefix=f"bench{uuid.uuid4().hex[:8]}",
        topic_partitions=4,
        batch_max_lines=args.batch_lines,
    )
    await ensure_topics(settings)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "bench.jsonl"
        release(log, records(args.lines, dup_every=0, same_ts_every=0))
        os.environ.update(FAKE_RAILWAY_LOG=str(log), FAKE_RAILWAY_SERVICES="bench")
        async with Publisher(settings, linger_ms=20) as pub:
            began, cpu = time.perf_counter(), time.process_time()
            async with BatchPipeline(settings, pub, args.source, fmt="railway") as pipeline:
                if args.source == "railway":
                    options = RailwayOptions(interval=3600, page_lines=args.lines + 1)
                    watcher = RailwayWatcher(
                        pipeline,
                        command=[str(RAILWAY_BIN)],
                        service="bench",
                        options=options,
                        limiter=SpawnLimiter(per_minute=1000),
                    )
                    task = asyncio.ensure_future(watcher.run())
                else:
                    task = asyncio.ensure_future(follow_files(pipeline, [str(log)], interval=0.01))
                while pipeline.stats.acked_lines < args.lines:
                    pipeline.acked.clear()
                    await pipeline.acked.wait()
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
            assert pipeline.stats.acked_lines == args.lines, pipeline.stats
    return args.lines / elapsed, args.lines / cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--broker", default="127.0.0.1:9092", help="Kafka bootstrap server")
    parser.add_argument("--lines", type=int, default=500_000, help="lines to push through")
    parser.add_argument("--source", choices=["railway", "file"], default="railway")
    parser.add_argument("--batch-lines", type=int, default=1000, help="batch_max_lines")
    args = parser.parse_args()
    rate, cpu_rate = asyncio.run(run(args))
    print(
        f"{args.source}: {args.lines} lines, {rate:,.0f} lines/s wall (read to broker ack), "
        f"{cpu_rate:,.0f} lines per CPU second of the watcher"
    )


if __name__ == "__main__":
    main()
