"""Drain3 driver for bench_templates.py: the same contract as ``streamfix templates``.

Reads FILE as bytes, a line ends at ``\\n`` and a trailing ``\\r`` is dropped, and prints one JSON object
per line (``group``, ``template``) with orjson. ``--config INI`` loads a Drain3 .ini file; without it
Drain3 runs with its built-in defaults (no masking), whatever ``drain3.ini`` the working directory has.
"""

from __future__ import annotations

import argparse
import sys

import orjson
from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file")
    parser.add_argument("--config", help="Drain3 .ini file (default: Drain3's built-in defaults)")
    args = parser.parse_args()
    config = TemplateMinerConfig()
    if args.config:
        config.load(args.config)
    miner = TemplateMiner(config=config)
    add = miner.add_log_message
    out: list[bytes] = []
    sink = sys.stdout.buffer
    with open(args.file, "rb") as source:
        for raw in source:
            line = raw[:-1] if raw[-1:] == b"\n" else raw
            if line[-1:] == b"\r":
                line = line[:-1]
            result = add(line.decode("utf-8", "replace"))
            out.append(
                orjson.dumps({"group": result["cluster_id"], "template": result["template_mined"]}) + b"\n"
            )
            if len(out) >= 4096:
                sink.write(b"".join(out))
                out.clear()
    sink.write(b"".join(out))


if __name__ == "__main__":
    main()
