"""Grouping Accuracy (GA) of the template miner on the labelled Loghub-2k sets.

GA (Zhu et al., ICSE-SEIP 2019): a line counts as correct only if the set of lines in its predicted
group equals the set of lines in its true group (``EventId``). Two inputs per system, one fresh miner
each, default settings, nothing per data set:

- ``content``: the ``Content`` column of ``<System>_2k.log_structured_corrected.csv``;
- ``raw``: the lines of ``<System>_2k.log`` as they are, headers included.

Each is scored twice: ``final`` uses every line's group resolved through the merge aliases after the
whole file was read; ``arrival`` uses the group id the line was given when it arrived.

Run: ``.venv/bin/python benchmarks/grouping_accuracy.py [--data DIR] [--with-drain3] [--json]``. The
data is read from ``../shared/data/loghub-2k`` next to the repository unless ``--data`` says
otherwise. ``--with-drain3`` adds Drain3 0.9.11's GA on the same lines, with its defaults and with
its documented masking config.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from collections.abc import Hashable, Sequence
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from streamfix.core.templates import TemplateMiner  # noqa: E402

SYSTEMS = ("HDFS", "Apache", "OpenStack", "BGL", "Hadoop", "Spark", "Zookeeper", "Linux")
DEFAULT_DATA = REPO.parent / "shared" / "data" / "loghub-2k"
PUBLISHED_DRAIN = {
    "HDFS": 0.998,
    "Apache": 1.0,
    "OpenStack": 0.733,
    "BGL": 0.963,
    "Hadoop": 0.948,
    "Spark": 0.920,
    "Zookeeper": 0.967,
    "Linux": 0.690,
}


def grouping_accuracy(predicted: Sequence[Hashable], truth: Sequence[Hashable]) -> float:
    """Share of lines whose predicted group has exactly the same lines as their true group."""
    if len(predicted) != len(truth):
        raise ValueError("predicted and truth must have the same length")
    if not truth:
        return 1.0
    by_predicted: dict[Hashable, list[int]] = defaultdict(list)
    by_truth: dict[Hashable, set[int]] = defaultdict(set)
    for index, (pred, true) in enumerate(zip(predicted, truth, strict=True)):
        by_predicted[pred].append(index)
        by_truth[true].add(index)
    correct = 0
    for members in by_predicted.values():
        if by_truth[truth[members[0]]] == set(members):
            correct += len(members)
    return correct / len(truth)


def load_system(data: Path, system: str) -> tuple[list[str], list[str], list[str]]:
    """Return ``(contents, raw_lines, event_ids)`` of one system, aligned by line."""
    with open(data / system / f"{system}_2k.log_structured_corrected.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    raw = (data / system / f"{system}_2k.log").read_bytes().split(b"\n")
    lines = [line.removesuffix(b"\r").decode("utf-8", "replace") for line in raw[: len(rows)]]
    return [row["Content"] for row in rows], lines, [row["EventId"] for row in rows]


def score(lines: Sequence[str], truth: Sequence[str]) -> dict[str, float | int]:
    miner = TemplateMiner()
    arrival = [miner.add(line)[0] for line in lines]
    final = [miner.resolve(group) for group in arrival]
    return {
        "final": grouping_accuracy(final, truth),
        "arrival": grouping_accuracy(arrival, truth),
        "groups": len(miner),
        "merges": miner.merges,
    }


def drain3_score(lines: Sequence[str], truth: Sequence[str], config_path: Path | None) -> float:
    """GA of Drain3 0.9.11 (its cluster id per line; Drain3 never renumbers clusters)."""
    from drain3 import TemplateMiner as Drain3Miner
    from drain3.template_miner_config import TemplateMinerConfig

    config = TemplateMinerConfig()
    if config_path is not None:
        config.load(str(config_path))
    miner = Drain3Miner(config=config)
    return grouping_accuracy([miner.add_log_message(line)["cluster_id"] for line in lines], truth)


def run_drain3(data: Path) -> dict[str, dict[str, float]]:
    masking = Path(__file__).resolve().parent / "drain3_masking.ini"
    results: dict[str, dict[str, float]] = {}
    for system in SYSTEMS:
        contents, raw, truth = load_system(data, system)
        results[system] = {
            f"{mode}_{name}": drain3_score(lines, truth, config)
            for mode, lines in (("content", contents), ("raw", raw))
            for name, config in (("defaults", None), ("masking", masking))
        }
    return results


def run(data: Path) -> dict[str, object]:
    results: dict[str, dict[str, dict[str, float | int]]] = {}
    for system in SYSTEMS:
        contents, raw, truth = load_system(data, system)
        results[system] = {"content": score(contents, truth), "raw": score(raw, truth)}
    means = {
        f"{mode}_{kind}": sum(float(results[s][mode][kind]) for s in SYSTEMS) / len(SYSTEMS)
        for mode in ("content", "raw")
        for kind in ("final", "arrival")
    }
    return {"systems": results, "mean": means, "published_drain": PUBLISHED_DRAIN}


def markdown(report: dict[str, object]) -> str:
    systems: dict[str, dict[str, dict[str, float]]] = report["systems"]  # type: ignore[assignment]
    means: dict[str, float] = report["mean"]  # type: ignore[assignment]
    out = [
        "## Grouping accuracy (Loghub-2k, default settings)",
        "",
        "| System | Content (final) | Raw (final) | Content (arrival) | Raw (arrival) | Drain, tuned (published) |",  # noqa: E501
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for system in SYSTEMS:
        c, r = systems[system]["content"], systems[system]["raw"]
        out.append(
            f"| {system} | {c['final']:.3f} | {r['final']:.3f} | {c['arrival']:.3f} | {r['arrival']:.3f}"
            f" | {PUBLISHED_DRAIN[system]:.3f} |"
        )
    published = sum(PUBLISHED_DRAIN.values()) / len(PUBLISHED_DRAIN)
    out.append(
        f"| **Mean** | **{means['content_final']:.4f}** | **{means['raw_final']:.4f}** |"
        f" {means['content_arrival']:.4f} | {means['raw_arrival']:.4f} | {published:.3f} |"
    )
    out += [
        "",
        "*final*: each line's group after alias resolution at the end of the file; *arrival*: the group id"
        " printed when the line arrived. Raw = the `.log` lines with headers; Content = the labelled message.",  # noqa: E501
    ]
    return "\n".join(out)


def markdown_drain3(results: dict[str, dict[str, float]]) -> str:
    columns = ("content_defaults", "raw_defaults", "content_masking", "raw_masking")
    out = [
        "### Drain3 0.9.11 on the same lines (for comparison)",
        "",
        "| System | Content (defaults) | Raw (defaults) | Content (masking config) | Raw (masking config) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for system in SYSTEMS:
        out.append(f"| {system} | " + " | ".join(f"{results[system][c]:.3f}" for c in columns) + " |")
    means = [sum(results[s][c] for s in SYSTEMS) / len(SYSTEMS) for c in columns]
    out.append("| **Mean** | " + " | ".join(f"{m:.4f}" for m in means) + " |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="folder holding <System>/ sub-folders"
    )
    parser.add_argument(
        "--with-drain3", action="store_true", help="also score Drain3 (defaults and masking config)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"data folder not found: {args.data}")
    report = run(args.data)
    if args.with_drain3:
        report["drain3"] = run_drain3(args.data)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
        return
    print(markdown(report))
    if args.with_drain3:
        print()
        print(markdown_drain3(report["drain3"]))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
