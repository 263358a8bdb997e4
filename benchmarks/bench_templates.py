"""Whole-process throughput of ``streamfix templates`` against Drain3, on the same input in the same run.

The input is the eight Loghub-2k raw logs concatenated (each ending in a newline) and repeated until it
has at least ``--lines`` lines, written to a temporary file. Each contender is a separate process that
reads that file and writes one JSON object per line (to a temporary file), so start-up, reading,
mining and JSON output are all counted:

- ``streamfix templates FILE``;
- Drain3 0.9.11 with its built-in defaults (``drain3_templates.py FILE``);
- Drain3 with its documented masking config (``drain3_templates.py --config drain3_masking.ini FILE``).

Every contender runs ``--runs`` times, interleaved; the best wall time of each is reported (the least
disturbed by other work on the machine), with the median alongside. A second table repeats the
measurement on a single pass over the logs (no repetition), where process start-up and the first
sight of each line shape weigh more.

Run: ``.venv/bin/python benchmarks/bench_templates.py [--lines N] [--runs K] [--json]``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "loghub-2k"
SYSTEMS = ("HDFS", "Apache", "OpenStack", "BGL", "Hadoop", "Spark", "Zookeeper", "Linux")


def build_input(data: Path, min_lines: int, target: Path) -> int:
    """Write the repeated concatenation of the raw logs to ``target``; return its line count."""
    chunk = b""
    for system in SYSTEMS:
        raw = (data / system / f"{system}_2k.log").read_bytes()
        chunk += raw if raw.endswith(b"\n") else raw + b"\n"
    per_chunk = chunk.count(b"\n")
    repeats = max(1, -(-min_lines // per_chunk))
    target.write_bytes(chunk * repeats)
    return per_chunk * repeats


def contenders(input_path: Path) -> dict[str, list[str]]:
    py = sys.executable
    driver = str(HERE / "drain3_templates.py")
    return {
        "streamfix templates": [
            py,
            "-c",
            "from streamfix.cli import main; main()",
            "templates",
            str(input_path),
        ],
        "Drain3 (defaults)": [py, driver, str(input_path)],
        "Drain3 (masking config)": [
            py,
            driver,
            "--config",
            str(HERE / "drain3_masking.ini"),
            str(input_path),
        ],
    }


def time_once(command: list[str], output: Path, workdir: Path) -> tuple[float, float, int]:
    """Run one contender; return its wall time, its CPU time (user + system) and its output lines."""
    with open(output, "wb") as sink:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, stdout=sink, check=True, cwd=workdir)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(output, "rb") as produced:
        lines = sum(1 for _ in produced)
    return elapsed, cpu, lines


def run(data: Path, min_lines: int, runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="streamfix-bench-") as tmp:
        workdir = Path(tmp)
        input_path = workdir / "input.log"
        lines = build_input(data, min_lines, input_path)
        commands = contenders(input_path)
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu_times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, command in commands.items():
                elapsed, cpu, produced = time_once(command, workdir / "out.jsonl", REPO)
                if produced != lines:
                    raise RuntimeError(f"{name} wrote {produced} lines for {lines} input lines")
                times[name].append(elapsed)
                cpu_times[name].append(cpu)
    results = {
        name: {
            "best_seconds": min(samples),
            "median_seconds": statistics.median(samples),
            "lines_per_second": lines / min(samples),
            "best_cpu_seconds": min(cpu_times[name]),
            "lines_per_cpu_second": lines / min(cpu_times[name]),
        }
        for name, samples in times.items()
    }
    ours = results["streamfix templates"]["lines_per_second"]
    ratios = {
        name: ours / result["lines_per_second"]
        for name, result in results.items()
        if not name.startswith("streamfix")
    }
    return {"input_lines": lines, "runs": runs, "results": results, "speedup": ratios}


def markdown(report: dict[str, object], title: str, what: str) -> str:
    results: dict[str, dict[str, float]] = report["results"]  # type: ignore[assignment]
    speedup: dict[str, float] = report["speedup"]  # type: ignore[assignment]
    out = [
        f"### {title}",
        "",
        f"Input: {what}, {report['input_lines']:,} lines; best of {report['runs']} runs each,"
        " output written as JSON lines.",
        "",
        "| Contender | Best (s) | Median (s) | Lines/s | streamfix speed-up | CPU (s) | Lines/CPU-s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, result in results.items():
        ratio = "1.00x" if name.startswith("streamfix") else f"{speedup[name]:.2f}x"
        out.append(
            f"| {name} | {result['best_seconds']:.2f} | {result['median_seconds']:.2f}"
            f" | {result['lines_per_second']:,.0f} | {ratio} | {result['best_cpu_seconds']:.2f}"
            f" | {result['lines_per_cpu_second']:,.0f} |"
        )
    out += [
        "",
        "Speed-up is the ratio of best wall-clock throughputs. CPU time (user + system of the process) is"
        " shown too: it is less sensitive to other load on a shared machine.",
    ]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="folder holding <System>/ sub-folders"
    )
    parser.add_argument("--lines", type=int, default=200_000, help="minimum number of input lines")
    parser.add_argument("--runs", type=int, default=3, help="runs per contender")
    parser.add_argument(
        "--no-single-pass",
        action="store_true",
        help="skip the second measurement on one pass over the logs (no repetition, few cache hits)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"data folder not found: {args.data}")
    reports = {"repeated": run(args.data, args.lines, args.runs)}
    if not args.no_single_pass:
        reports["single_pass"] = run(args.data, 1, args.runs)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(reports, option=orjson.OPT_INDENT_2) + b"\n")
        return
    print("## Template mining throughput (whole process, same machine, same run)\n")
    print(
        markdown(
            reports["repeated"], "Main: repeated input", "the 8 Loghub-2k raw logs concatenated and repeated"
        )
    )
    if "single_pass" in reports:
        print()
        print(
            markdown(
                reports["single_pass"],
                "Single pass (start-up and first sight of every shape weigh more)",
                "the 8 Loghub-2k raw logs concatenated once",
            )
        )


if __name__ == "__main__":
    main()
