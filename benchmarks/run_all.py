"""Run every benchmark and write the results, with the machine and the date, to docs/benchmarks.md.

Usage: ``python benchmarks/run_all.py --write docs/benchmarks.md`` (``make bench``). Starts the local
Kafka broker when none answers on STREAMFIX_BROKER and stops it afterwards. Each benchmark runs as its
own process, one after another, so they do not compete for the two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(
            next(
                x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")
            ).split()[1]
        )
    except (OSError, StopIteration, ValueError):
        mem_kb = 0
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_kb / 1024 / 1024:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, Apache Kafka 4.1.1 (KRaft, local, 512 MB heap)"  # noqa: E501
    )


def run(title: str, args: list[str], timeout: float = 1800) -> str:
    started = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    took = time.perf_counter() - started
    body = done.stdout.strip() or "(no output)"
    if done.returncode != 0:
        body += f"\n\nexit status {done.returncode}:\n```\n{done.stderr.strip()[-2000:]}\n```"
    sys.stderr.write(f"{title}: {took:.0f} s, exit {done.returncode}\n")
    return f"## {title}\n\nCommand: `{' '.join(a if not a.startswith('/') else Path(a).name for a in args)}`\n\n{body}\n"  # noqa: E501


NOTES = "<!-- notes: everything from here on is written by hand and kept by make bench -->"


def pipeline_run(extra: list[str], **env: str) -> tuple[dict[str, Any] | None, str]:
    """One ``streamfix bench pipeline --json`` run: its figures, or None and the error output."""
    args = [PY, "-m", "streamfix", "bench", "pipeline", "--json", *extra]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=3600, check=False,
                          env={**os.environ, **env})
    if done.returncode != 0:
        return None, done.stderr.strip()[-2000:]
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return data, ""


def table(data: dict[str, Any]) -> str:
    return "\n".join(
        f"| {k} | {v:,.2f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in data.items()
    )


def pipeline_section(extra: list[str], title: str) -> str:
    data, error = pipeline_run(extra)
    if data is None:
        return f"## {title}\n\nfailed:\n```\n{error}\n```\n"
    return (
        f"## {title}\n\nCommand: `streamfix bench pipeline {' '.join(extra)}`\n\n| figure | value |\n|---|---|\n"  # noqa: E501
        f"{table(data)}\n"
    )


def guarantee_section(extra: list[str]) -> str:
    """The same pipeline run under each processing guarantee, back to back, with the ratio."""
    title = "Processing guarantee: at_least_once (default) vs exactly_once, same input, same run"
    results = {
        g: pipeline_run(extra, STREAMFIX_PROCESSING_GUARANTEE=g) for g in ("at_least_once", "exactly_once")
    }
    rows = []
    for guarantee, (data, error) in results.items():
        if data is None:
            return f"## {title}\n\n{guarantee} failed:\n```\n{error}\n```\n"
        rows.append(f"| {guarantee} | {float(data['lines_per_s']):,.0f} | {float(data['p50_ms']):,.1f} | "
                    f"{float(data['p99_ms']):,.1f} | {float(data.get('worker_max_rss_mb') or 0):,.0f} |")
    alo, eos = (results[g][0] for g in ("at_least_once", "exactly_once"))
    assert alo is not None and eos is not None
    ratio = float(alo["lines_per_s"]) / float(eos["lines_per_s"])
    return (
        f"## {title}\n\nCommand: `STREAMFIX_PROCESSING_GUARANTEE=<guarantee> streamfix bench pipeline "
        f"{' '.join(extra)}`\n\n| guarantee | lines/s | p50 ms | p99 ms | worker max RSS MB |\n|---|---|---|---|---|\n"  # noqa: E501
        + "\n".join(rows)
        + f"\n\nat_least_once is {ratio:.2f}x the throughput of exactly_once.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, default=None, help="write Markdown here (default: stdout)")
    parser.add_argument(
        "--quick", action="store_true", help="smaller inputs (a smoke run, not for the record)"
    )
    opts = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from streamfix.kafka.local import LocalKafka, answers_metadata
    from streamfix.runtime.settings import load_settings

    settings = load_settings()
    port = int(settings.bootstrap_servers.split(",")[0].rsplit(":", 1)[1])
    local = None if answers_metadata(port) else LocalKafka(load_settings(kafka_port=port))
    if local is not None:
        local.up()
    scale = 10 if opts.quick else 1
    try:
        sections = [
            run(
                "Grouping accuracy (Loghub-2k, no per-dataset settings)",
                [PY, "benchmarks/grouping_accuracy.py", "--with-drain3"],
            ),
            run(
                "Template miner parameters by leave-one-system-out (Loghub-2k)",
                [PY, "benchmarks/templates_loso.py"],
            ),
            run(
                "`streamfix templates` vs Drain3 (whole process, same input, same run)",
                [PY, "benchmarks/bench_templates.py", "--lines", str(200_000 // scale)],
            ),
            run(
                "Error path (parse + assemble + classify + fingerprint), one core",
                [PY, "benchmarks/bench_error_path.py", "--lines", str(300_000 // scale)],
            ),
            run(
                "Detection through platform line prefixes (genuine tracebacks, interleaved replicas)",
                [PY, "benchmarks/bench_prefixes.py", "--events", str(100 // scale)],
            ),
            pipeline_section(
                ["--lines", str(1_000_000 // scale), "--baseline-lines", str(50_000 // scale)],
                "End to end through Kafka: throughput, latency, baseline (default 1,000-line batches)",
            ),
            guarantee_section(["--lines", str(1_000_000 // scale)]),
            pipeline_section(
                [
                    "--lines",
                    str(10_000_000 // scale),
                    "--distinct",
                    str(1_000_000 // scale),
                    "--latency-seconds",
                    "2",
                ],
                "Memory: 10M lines with 1M distinct values",
            ),
            run(
                "Watcher throughput (one source into Kafka)",
                [PY, "benchmarks/bench_watch.py", "--broker", settings.bootstrap_servers],
            ),
            run(
                "REST API latency (10k patterns, 50 concurrent requests)",
                [PY, "benchmarks/bench_api.py", "--broker", settings.bootstrap_servers],
            ),
            run(
                "Alerting: spike detection and forecast on synthetic series",
                [PY, "benchmarks/alert_rates.py", "--seeds", str(max(2, 5 // scale))],
            ),
        ]
    finally:
        if local is not None:
            local.down()
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    text = (f"# Benchmarks\n\nMeasured on {today} on {machine()}.\nRegenerate with `make bench` "
            "(each figure below comes from one run of the command shown).\n\n" + "\n".join(sections))
    if opts.write:
        previous = opts.write.read_text(encoding="utf-8") if opts.write.exists() else ""
        if NOTES in previous:  # hand-written findings (profiles, before/after figures) stay
            text = text.rstrip("\n") + "\n\n" + previous[previous.index(NOTES):]
        opts.write.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
