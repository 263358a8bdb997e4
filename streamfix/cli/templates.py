"""``streamfix templates [FILE]``: one JSON object per input line with its template group.

Lines are read from FILE (or standard input) as bytes; a line ends at ``\\n`` only and a trailing
``\\r`` is dropped. Each output line is ``{"group": ..., "template": ...}``, in input order. ``group``
is the id assigned when the line arrived. When a line makes groups merge, its object also carries
``"merged": {old_id: surviving_id, ...}``, so a consumer can keep counts together; ``--state`` keeps
the whole miner (groups, counts, the full alias map) in a JSON file between runs.

Only the miner, click and orjson are imported, so start-up stays short.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import BinaryIO

import click
import orjson

from streamfix.core.templates import TemplateMiner

logger = logging.getLogger(__name__)

_BATCH = 4096


def run(source: BinaryIO, sink: BinaryIO, miner: TemplateMiner, *, line_buffered: bool = False) -> int:
    """Group every line of ``source``, write one JSON object per line to ``sink``; return the line count."""
    add = miner.add_bytes
    merges_seen = miner.merges
    encoded: dict[tuple[str, str], bytes] = {}
    out: list[bytes] = []
    batch = 1 if line_buffered else _BATCH
    count = 0
    for raw in source:
        line = raw[:-1] if raw[-1:] == b"\n" else raw
        if line[-1:] == b"\r":
            line = line[:-1]
        result = add(line)
        record = encoded.get(result)
        if miner.merges != merges_seen:
            merges_seen = miner.merges
            merged = dict(miner.take_merges())
            if merged:
                record = orjson.dumps({"group": result[0], "template": result[1], "merged": merged}) + b"\n"
        if record is None:
            if len(encoded) > 65_536:
                encoded.clear()
            record = orjson.dumps({"group": result[0], "template": result[1]}) + b"\n"
            encoded[result] = record
        out.append(record)
        count += 1
        if len(out) >= batch:
            sink.write(b"".join(out))
            out.clear()
            if line_buffered:
                sink.flush()
    sink.write(b"".join(out))
    sink.flush()
    return count


@click.command(name="templates")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, writable=True),
    help="JSON file with the miner state (groups, counts, merge aliases): loaded first if it exists,"
    " written at the end.",
)
@click.option(
    "--no-headers",
    is_flag=True,
    help="Treat each line as a bare message (do not look for timestamps, levels and components).",
)
@click.option("--line-buffered", is_flag=True, help="Flush after every line (for following a live log).")
def command(file: str | None, state_path: str | None, no_headers: bool, line_buffered: bool) -> None:
    """Print the template group of each line of FILE (or standard input) as JSON lines."""
    miner = _load(state_path) if state_path is not None and os.path.exists(state_path) else None
    if miner is None:
        miner = TemplateMiner(strip_headers=not no_headers)
    sink = sys.stdout.buffer
    try:
        if file is None or file == "-":
            run(sys.stdin.buffer, sink, miner, line_buffered=line_buffered)
        else:
            with open(file, "rb") as source:
                run(source, sink, miner, line_buffered=line_buffered)
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as other Unix filters do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if state_path is not None:
        partial = f"{state_path}.tmp"
        with open(partial, "wb") as handle:
            handle.write(orjson.dumps(miner.to_state()))
        os.replace(partial, state_path)


def _load(state_path: str) -> TemplateMiner:
    try:
        with open(state_path, "rb") as handle:
            return TemplateMiner.from_state(orjson.loads(handle.read()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise click.ClickException(f"cannot load template state from {state_path}: {exc}") from exc
