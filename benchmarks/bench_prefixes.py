"""Detection through platform line prefixes: genuine tracebacks, every prefix style, interleaved replicas.

Runs the failing programs in ``tests/unit/core/tracebacks/`` (real CPython, Node.js and Java runs), renders
their stderr the way docker compose, kubectl ``--prefix --timestamps``, journald, syslog (RFC 3164 and
5424), Heroku, ``<timestamp> <replica>`` and Railway ``--json`` print it, with three replicas interleaved
line by line and ordinary traffic between errors, and scores the error path per style: recall, false
events (per written traceback) and type/file/line/function/category accuracy.

Usage: ``python benchmarks/bench_prefixes.py [--events N] [--seed N] [--json]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.unit.core import prefix_corpus

TARGETS = {"recall": 0.99, "false_events": 0.01, "fields": 0.99}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100, help="tracebacks written per replica and style")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of Markdown")
    args = parser.parse_args()
    stderr = prefix_corpus.genuine_stderr()
    rows = []
    for style in prefix_corpus.STYLES:
        raw, expected, owners = prefix_corpus.build(style, stderr, events_per_replica=args.events, seed=args.seed)
        started = time.perf_counter()
        score = prefix_corpus.score(style, raw, expected, owners)
        took = time.perf_counter() - started
        rows.append({
            "style": style, "lines": len(raw), "tracebacks": score.expected, "events": score.found,
            "recall": round(score.recall, 4), "false_events": round(score.false_rate, 4),
            **{name: round(score.accuracy(name), 4) for name in score.right},
            "lines_per_s": round(len(raw) / took),
        })
    worst = {
        "recall": min(r["recall"] for r in rows),
        "false_events": max(r["false_events"] for r in rows),
        "fields": min(min(r[n] for n in ("type", "file", "line", "function")) for r in rows),
    }
    if args.json:
        sys.stdout.write(orjson.dumps({"programs": len(stderr), "styles": rows, "worst": worst}).decode() + "\n")
        return
    languages = sorted({p.binary or "python" for p, _ in stderr})
    worst_category = min(r["category"] for r in rows)
    print(f"{len(stderr)} genuine programs ({', '.join(languages)}), {args.events} tracebacks per replica, "
          f"seed {args.seed}.\n")
    print("| style | lines | tracebacks | events | recall | false events | type | file | line | function | category |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['style']} | {r['lines']:,} | {r['tracebacks']} | {r['events']} | {r['recall']:.3f} | "
              f"{r['false_events']:.3f} | {r['type']:.3f} | {r['file']:.3f} | {r['line']:.3f} | {r['function']:.3f} | "
              f"{r['category']:.3f} |")
    ok = (worst["recall"] >= TARGETS["recall"] and worst["false_events"] <= TARGETS["false_events"]
          and worst["fields"] >= TARGETS["fields"])
    print(f"\nWorst style: recall {worst['recall']:.3f} (target >= 0.99), false events {worst['false_events']:.3f} "
          f"(<= 0.01), fields {worst['fields']:.3f} (>= 0.99): {'met' if ok else 'NOT met'}; "
          f"category {worst_category:.3f} (>= 0.90).")


if __name__ == "__main__":
    main()
