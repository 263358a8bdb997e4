"""``streamfix fix FINGERPRINT``: analyse one error pattern and propose a fix, from the command line.

The pattern comes from one of:

- ``--from-file EVENTS.jsonl``: the output of ``streamfix extract --frames`` (one JSON error event per
  line); the events with this fingerprint (or fingerprint prefix) are folded into one fix request;
- a JSON :class:`~streamfix.kafka.wire.FixRequest` on stdin (``... | streamfix fix FINGERPRINT``), for
  example one copied from the fix-requests topic.

By default the fix is committed on ``auto-fix/{category}/{id}`` and pushed (with ``GITHUB_TOKEN``) but
no pull request is opened; ``--create-pr`` opens it; ``--dry-run`` prints the patch and touches no
branch. ``--report`` publishes every state to the fix-results topic (``STREAMFIX_BROKER``), so the
worker's API, history and regression tracking know the fix; its attempt number is then one past the
pattern's attempts on that topic, whoever made them. ``--repo`` names the repository (URL or local path) instead of ``STREAMFIX_REPO_URL``. Each state is printed to stderr; the final FixResult is printed to stdout as JSON (with
``--dry-run``, the diff). Exit status: 0 done, 1 the fix failed or was refused, 2 bad input, 75 Claude
is unavailable (retry later).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import click
import orjson

from streamfix.core.records import Pattern, PatternFrame
from streamfix.errors import StreamfixError, WireError
from streamfix.kafka.wire import FixRequest, FixResult, FrameRecord
from streamfix.runtime.settings import load_settings
from streamfix.services.convert import fix_request_for

EX_TEMPFAIL = 75
_FAILED = {"fix_invalid", "analysis_failed", "pr_failed", "skipped_budget"}


def _epoch(value: Any) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _traceback_of(event: dict[str, Any]) -> str:
    lines = ["Traceback (most recent call last):"]
    for frame in event.get("frames") or []:
        lines.append(f'  File "{frame.get("file")}", line {frame.get("line")}, in {frame.get("function")}')
        if frame.get("code"):
            lines.append(f"    {frame['code']}")
    lines.append(f"{event.get('error_type', 'Error')}: {event.get('message', '')}")
    return "\n".join(lines)


def request_from_events(fingerprint: str, stream: IO[str], *, create_pr: bool, dry_run: bool) -> FixRequest:
    """Fold the extract events of one pattern into a fix request."""
    events: list[dict[str, Any]] = []
    for number, raw in enumerate(stream, 1):
        if not raw.strip():
            continue
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise click.UsageError(f"line {number} of the events file is not JSON: {exc}") from None
        if isinstance(event, dict) and str(event.get("fingerprint", "")).startswith(fingerprint):
            events.append(event)
    if not events:
        raise click.UsageError(f"no event with fingerprint {fingerprint} in the events file")
    full = {str(e["fingerprint"]) for e in events}
    if len(full) > 1:
        raise click.UsageError(f"{fingerprint} matches {len(full)} patterns; give more of the fingerprint")
    last = events[-1]
    frames = [FrameRecord.model_validate(f) for f in last.get("frames") or []]
    if not frames and last.get("file"):
        frames = [FrameRecord(file=last["file"], line=last.get("line"), function=last.get("function") or "")]
    seen = [t for t in (_epoch(e.get("timestamp")) for e in events) if t is not None]
    pattern = Pattern(
        fingerprint=full.pop(),
        error_type=last.get("error_type", "Error"),
        message=last.get("message", ""),
        category=last.get("category", "internal_error"),
        severity=last.get("severity", "MEDIUM"),
        suggested_fix=last.get("suggested_fix", ""),
        file=last.get("file"),
        line=last.get("line"),
        function=last.get("function"),
        frames=[PatternFrame(f.file, f.line, f.function, f.in_app) for f in frames],
        traceback=_traceback_of(last),
        first_seen=min(seen, default=None),
        last_seen=max(seen, default=None),
        count=len(events),
        services=sorted({str(e["service"]) for e in events if e.get("service")}),
    )
    request = fix_request_for(pattern, 1, "cli", time.time())
    return request.model_copy(update={"create_pr": create_pr, "dry_run": dry_run})


def request_from_stdin(fingerprint: str, text: str, *, create_pr: bool, dry_run: bool) -> FixRequest:
    try:
        request = FixRequest.loads(text)
    except WireError as exc:
        raise click.UsageError(f"stdin is not a FixRequest: {exc}") from None
    if not request.fingerprint.startswith(fingerprint):
        raise click.UsageError(f"the FixRequest on stdin is for {request.fingerprint}, not {fingerprint}")
    return request.model_copy(update={"create_pr": create_pr, "dry_run": dry_run, "trigger": "cli"})


def numbered(request: FixRequest, attempt: int) -> FixRequest:
    """``request`` as attempt ``attempt`` (request id ``<fingerprint>#<attempt>``)."""
    return request.model_copy(update={"attempt": attempt, "request_id": f"{request.fingerprint}#{attempt}"})


async def _run(request: FixRequest, overrides: dict[str, Any], report: bool = False) -> tuple[FixResult, bool]:
    from streamfix.fixing.service import FixService
    from streamfix.kafka.clients import KafkaPublisher
    from streamfix.runtime.logs import configure_logging
    from streamfix.services.attempts import last_attempt

    settings = load_settings(**overrides)
    parked: list[float] = []
    async with contextlib.AsyncExitStack() as stack:
        out = await stack.enter_async_context(KafkaPublisher(settings)) if report else None
        if report:
            request = numbered(request, await last_attempt(settings, request.fingerprint) + 1)

        async def publish(result: FixResult) -> None:
            note = f" ({result.error})" if result.error else ""
            click.echo(f"{result.fix_id}: {result.status}{note}", err=True)
            if out is not None and not request.dry_run:
                await out.send_and_wait("fix_results", result.fingerprint, result)

        async def park(req: FixRequest, not_before: float) -> None:
            parked.append(not_before)

        configure_logging(settings, process="fix")
        service = FixService.from_settings(settings, publish=publish, park=park)
        return await service.handle(request), bool(parked)
    raise AssertionError("unreachable")  # pragma: no cover


@click.command(name="fix")
@click.argument("fingerprint")
@click.option(
    "--from-file",
    "events_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Error events of `streamfix extract --frames` (JSON lines).",
)
@click.option("--create-pr", is_flag=True, help="Open (or reuse) the pull request after pushing the branch.")
@click.option("--dry-run", is_flag=True, help="Print the patch only: no branch, no push, no pull request.")
@click.option("--report", is_flag=True,
              help="Publish every state to the fix-results topic; number the attempt after the topic's.")
@click.option(
    "--repo", "repo_url", help="Git URL or path of the repository to fix (default: STREAMFIX_REPO_URL)."
)
def command(
    fingerprint: str, events_file: Path | None, create_pr: bool, dry_run: bool, report: bool,
    repo_url: str | None,
) -> None:
    """Analyse the error pattern FINGERPRINT and propose a fix (see `docs/fixing.md`)."""
    if events_file is not None:
        with events_file.open(encoding="utf-8", errors="replace") as fh:
            request = request_from_events(fingerprint, fh, create_pr=create_pr, dry_run=dry_run)
    elif not sys.stdin.isatty():
        request = request_from_stdin(fingerprint, sys.stdin.read(), create_pr=create_pr, dry_run=dry_run)
    else:
        raise click.UsageError("give the pattern with --from-file EVENTS.jsonl or a JSON FixRequest on stdin")
    try:
        result, parked = asyncio.run(_run(request, {"repo_url": repo_url} if repo_url else {}, report))
    except StreamfixError as exc:
        click.echo(f"streamfix fix: {exc}", err=True)
        sys.exit(1)
    if dry_run and result.diff:
        click.echo(result.diff, nl=False)
    else:
        click.echo(result.dumps().decode())
    if parked:
        click.echo("streamfix fix: Claude is unavailable; try again later", err=True)
        sys.exit(EX_TEMPFAIL)
    if result.status in _FAILED:
        sys.exit(1)
