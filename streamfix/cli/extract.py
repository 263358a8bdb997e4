"""``streamfix extract [FILE]``: find, classify and fingerprint the errors in a log file or stdin.

Prints one JSON object per error event, in input order, or with ``--summary`` a table of the distinct
error patterns. Secrets and PII are redacted from every event before it is classified or printed
(``--no-redact`` shows them, for a file you trust); the table escapes control characters, so log text
cannot move the cursor or rewrite the terminal.
"""

from __future__ import annotations

import sys
import tomllib
from collections import Counter
from collections.abc import Iterator
from typing import IO, Any

import click
import orjson

from streamfix.core.classify import RulesError, load_rules
from streamfix.core.extract import DEFAULT_IN_APP, InAppConfig
from streamfix.core.models import ErrorEvent
from streamfix.core.parse import FORMATS
from streamfix.core.pipeline import PipelineConfig, run_batch
from streamfix.core.untrusted import escape_terminal

BATCH = 4096


def _batches(stream: IO[str]) -> Iterator[list[str]]:
    """Batches of lines; the last one is always empty (it flushes the open units)."""
    batch: list[str] = []
    for raw in stream:
        batch.append(raw.rstrip("\r\n"))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
    yield []


def _open_start(state: dict[str, Any]) -> int | None:
    starts = [s["lines"][0]["index"] for s in state["assembly"]["streams"].values() if s["lines"]]
    return min(starts) if starts else None


def _where(event: ErrorEvent) -> str:
    if event.file is None:
        return event.service or event.logger or "-"
    return f"{event.file}:{event.line} in {event.function}"


def _summary(events: list[ErrorEvent]) -> str:
    counts: Counter[str] = Counter(e.fingerprint for e in events)
    first: dict[str, ErrorEvent] = {}
    for event in events:
        first.setdefault(event.fingerprint, event)
    rows = [("COUNT", "CATEGORY", "SEVERITY", "FINGERPRINT", "TYPE", "WHERE")]
    for fingerprint, count in counts.most_common():
        e = first[fingerprint]
        rows.append((str(count), e.category.value, e.severity.value, fingerprint[:24],
                     escape_terminal(e.error_type).replace("\n", "\\n"), escape_terminal(_where(e)).replace("\n", "\\n")))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 5 else cell for i, cell in enumerate(row)) for row in rows]
    lines.append(f"{len(events)} error events, {len(counts)} patterns")
    return "\n".join(line.rstrip() for line in lines)


@click.command(name="extract")
@click.argument("file", type=click.File("r", encoding="utf-8", errors="replace"), default="-")
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True,
    help="Input format; auto detects it per line.",
)
@click.option("--summary", is_flag=True, help="Print a table of error patterns instead of one JSON object per event.")
@click.option("--rules", "rules_file", type=click.File("rb"), help="User classification rules (TOML), checked first.")
@click.option("--app-prefix", multiple=True, help="Path prefix that is always application code (repeatable).")
@click.option("--frames/--no-frames", default=False, help="Include the full frame list in the JSON output.")
@click.option("--redact/--no-redact", default=True, show_default=True, help="Redact secrets and PII from the events.")
def command(
    file: IO[str], fmt: str, summary: bool, rules_file: IO[bytes] | None, app_prefix: tuple[str, ...], frames: bool,
    redact: bool,
) -> None:
    """Find the errors in FILE (or stdin): Railway --json, Loki, JSON logs or plain text."""
    user_rules = None
    if rules_file is not None:
        try:
            user_rules = load_rules(tomllib.load(rules_file))
        except (tomllib.TOMLDecodeError, RulesError) as exc:
            raise click.UsageError(f"bad rules file: {exc}") from None
    in_app = InAppConfig(app_prefixes=app_prefix) if app_prefix else DEFAULT_IN_APP
    scrub = None
    if redact:
        from streamfix.runtime.redaction import event_scrubber

        scrub = event_scrubber()
    config = PipelineConfig(user_rules=user_rules, in_app=in_app, fmt=fmt, scrub=scrub)
    state: dict[str, Any] | None = None
    events: list[ErrorEvent] = []
    held: list[ErrorEvent] = []
    for batch in _batches(file):
        result = run_batch(batch, state, config=config, final=not batch)
        state = result.state
        if summary:
            events.extend(result.events)
            continue
        # Events complete out of order when streams interleave: hold back those that start after a
        # unit that is still open, so the output stays in input order.
        held.extend(result.events)
        held.sort(key=lambda e: e.line_start)
        horizon = _open_start(state)
        ready = [e for e in held if horizon is None or e.line_start < horizon]
        held = held[len(ready) :]
        for event in ready:
            data = event.to_dict()
            if not frames:
                data.pop("frames")
            sys.stdout.write(orjson.dumps(data).decode() + "\n")
    if summary:
        click.echo(_summary(events))
