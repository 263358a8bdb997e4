"""The fix state machine: one :class:`~streamfix.kafka.wire.FixRequest` in, a sequence of FixResult states out.

::

    pending → analyzing → fix_generated → branch_pushed → pr_open → merged | closed
                        ↘ fix_invalid | analysis_failed          ↘ pr_failed
    pending → skipped_no_api_key | skipped_budget
    pending (parked: Claude unavailable; the request is re-queued with a not-before time)

Every adapter is injected (Claude analyzer, git, GitHub, publish and park callbacks, store, budget,
clock, sleep), so the whole machine runs in tests against local fakes. Git and GitHub calls are
blocking and run in worker threads; git work on the shared clone is serialised by one lock.
Each state is published (``publish``) as soon as it is reached; the latest record per ``fix_id`` wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, cast

from streamfix.core.editpolicy import EditContext
from streamfix.core.effectiveness import arm_for
from streamfix.core.issuelink import ErrorSignature
from streamfix.core.strategies import apply_strategy, strategy_for
from streamfix.errors import BrokerError, FixError, WireError
from streamfix.fixing import apply, candidates
from streamfix.fixing.budget import Budget
from streamfix.fixing.claude import Analysis, AnalysisFailed, ClaudeAnalyzer, ClaudeUnavailable, build_prompt
from streamfix.fixing.github import GitHubPulls, pr_body, pr_labels, pr_title
from streamfix.fixing.naming import branch_name, commit_message, fix_id, short_id
from streamfix.fixing.policy import edit_context, edit_policy
from streamfix.fixing.ports import (
    Analyzer,
    GitPort,
    ModelAnalyzer,
    Park,
    Publish,
    PullsPort,
    not_before_of,
)
from streamfix.fixing.redact import secrets_of
from streamfix.fixing.repo import SourceWindow, gather_context
from streamfix.fixing.store import MemoryStore
from streamfix.kafka.wire import FixRequest, FixResult
from streamfix.runtime.logs import trace
from streamfix.runtime.metrics import FIX_SUCCESS_RATIO, FIXES, PRS_MERGED
from streamfix.runtime.redaction import scrub, scrub_code
from streamfix.runtime.settings import Settings

log = logging.getLogger(__name__)

# States after which a redelivered copy of the same request is answered from the store.
_SETTLED = frozenset(
    {
        "fix_generated",
        "fix_invalid",
        "analysis_failed",
        "skipped_no_api_key",
        "branch_pushed",
        "pr_open",
        "merged",
        "closed",
    }
)
_IN_REVIEW = frozenset({"branch_pushed", "pr_open"})


async def _no_park(request: FixRequest, not_before: float) -> None:
    log.error("Claude unavailable and no parking configured", extra={"request_id": request.request_id})


class FixService:
    def __init__(
        self,
        settings: Settings,
        *,
        publish: Publish,
        park: Park = _no_park,
        analyzer: Analyzer | None = None,
        git: GitPort | None = None,
        pulls: PullsPort | None = None,
        budget: Budget | None = None,
        store: MemoryStore | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.store = store or MemoryStore()
        self.budget = budget or Budget(
            settings.fix_max_calls_per_hour, settings.fix_max_tokens_per_day, clock=clock
        )
        self._publish = publish
        self._park = park
        self._analyzer = analyzer
        self._git = git
        self._pulls = pulls
        self._clock = clock
        self._sleep = sleep
        self._slots = asyncio.Semaphore(settings.fix_concurrency)
        self._git_lock = asyncio.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        publish: Publish,
        park: Park = _no_park,
        base: Mapping[str, Any] | None = None,
    ) -> FixService:
        """Build the real adapters the settings allow: no key → no analyzer, no token → no GitHub."""
        from streamfix.fixing.gitops import GitOps

        token = settings.github_token.get_secret_value() if settings.github_token else None
        analyzer = ClaudeAnalyzer.from_settings(settings) if settings.anthropic_api_key else None
        git = (
            GitOps(
                settings.fix_clone_dir,
                settings.repo_url,
                settings.repo_default_branch,
                token=token,
                author=settings.fix_git_author,
                push_url=settings.fix_fork_url,
            )
            if settings.repo_url
            else None
        )
        pulls = (
            GitHubPulls(settings.github_api_url, token, settings.github_repo, head_owner=settings.fix_fork_owner)
            if token and settings.github_repo
            else None
        )
        return cls(
            settings,
            publish=publish,
            park=park,
            analyzer=analyzer,
            git=git,
            pulls=pulls,
            store=MemoryStore(base),
        )

    # --- entry points ------------------------------------------------------------------------------
    async def handle_raw(self, value: Any, *, headers: Any = None) -> FixResult | None:
        """Decode a record from the fix-requests topic (bytes, str, dict or FixRequest) and handle it."""
        try:
            request = (
                value
                if isinstance(value, FixRequest)
                else (
                    FixRequest.loads(value) if isinstance(value, bytes | str) else FixRequest.from_obj(value)
                )
            )
        except WireError as exc:
            log.error("invalid fix request skipped", extra={"error": str(exc)})
            return None
        return await self.handle(request, not_before=not_before_of(headers))

    async def handle(self, request: FixRequest, *, not_before: float | None = None) -> FixResult:
        """Run one request through the state machine and return its last state."""
        if not_before is not None and not_before > self._clock():
            await self._sleep(not_before - self._clock())
        async with self._slots, _traced(request.trace_id):
            try:
                return await self._handle(request)
            except (BrokerError, asyncio.CancelledError):
                raise
            except Exception as exc:  # an adapter bug must not stop the consumer
                log.exception("fix failed unexpectedly", extra={"request_id": request.request_id})
                if request.dry_run:
                    return await self._emit(
                        self._base(request, None), "fix_invalid", dry_run=True,
                        error=f"internal error: {exc.__class__.__name__}",
                    )
                last = self.store.get(request.fingerprint, fix_id(request.fingerprint, request.attempt))
                if last is None or last.request_id != request.request_id:
                    raise
                status = "analysis_failed" if last.status in ("pending", "analyzing") else "pr_failed"
                return await self._emit(last, status, error=f"internal error: {exc.__class__.__name__}")

    async def track(self) -> list[FixResult]:
        """Poll open fix PRs; move them to merged or closed. Returns the fixes that changed."""
        changed: list[FixResult] = []
        if self._pulls is not None:
            for result in list(self.store.values()):
                if result.status != "pr_open" or result.pr_number is None:
                    continue
                with trace(result.trace_id):
                    changed += await self._track_one(result, result.pr_number)
        self._update_ratio()
        return changed

    async def _track_one(self, result: FixResult, number: int) -> list[FixResult]:
        assert self._pulls is not None
        try:
            state = await asyncio.to_thread(self._pulls.pr_state, number)
        except FixError as exc:
            log.warning("PR state unknown", extra={"fix_id": result.fix_id, "error": str(exc)})
            return []
        if state == "open":
            return []
        if state == "merged":
            PRS_MERGED.inc()
        stamp: dict[str, Any] = {}
        if state == "merged":
            stamp["merged_at"] = await self._merge_time(number)
        return [await self._emit(result, state, **stamp)]

    async def _merge_time(self, number: int) -> float:
        """GitHub's merge time when the adapter reports it (not later than now), else now."""
        now = self._clock()
        lookup = getattr(self._pulls, "merged_at", None)
        if lookup is None:
            return now
        try:
            when = await asyncio.to_thread(lookup, number)
        except FixError as exc:
            log.warning("merge time unknown", extra={"pr": number, "error": str(exc)})
            return now
        return min(float(when), now) if isinstance(when, int | float) else now

    def _update_ratio(self) -> None:
        statuses = [r.status for r in self.store.values()]
        merged, closed = statuses.count("merged"), statuses.count("closed")
        if merged + closed:
            FIX_SUCCESS_RATIO.set(merged / (merged + closed))

    def _model_for(self, request: FixRequest) -> str:
        """The model of the request's A/B arm (stable per fingerprint), or the configured model."""
        models = self.settings.fix_models
        return arm_for(request.fingerprint, models) if models else self.settings.anthropic_model

    # --- the machine -------------------------------------------------------------------------------
    async def _emit(
        self, result: FixResult, status: str, *, dry_run: bool = False, **changes: Any
    ) -> FixResult:
        new = _scrubbed(result.model_copy(update={**changes, "status": status, "updated_at": self._clock()}))
        if not dry_run:
            self.store.put(new)
        FIXES.labels(status=status).inc()
        log.info("fix state", extra={"fix_id": new.fix_id, "status": status, "error": new.error})
        await self._publish(new)
        return new

    def _base(self, request: FixRequest, existing: FixResult | None) -> FixResult:
        now = self._clock()
        known = secrets_of(request)
        return FixResult(
            fix_id=fix_id(request.fingerprint, request.attempt),
            request_id=request.request_id,
            fingerprint=request.fingerprint,
            status="pending",
            category=request.category,
            severity=request.severity,
            error_type=request.error_type,
            message=scrub(request.message, where="fix_result", known=known),
            suggested_fix=scrub(request.suggested_fix, where="fix_result", known=known),
            created_at=existing.created_at if existing else now,
            updated_at=now,
            attempt=request.attempt,
            trigger=request.trigger,
            model=self._model_for(request),
            strategy=strategy_for(request.fingerprint, self.settings.fix_prompt_strategies),
            trace_id=request.trace_id,
        )

    async def _handle(self, request: FixRequest) -> FixResult:
        fid = fix_id(request.fingerprint, request.attempt)
        existing = None if request.dry_run else self.store.get(request.fingerprint, fid)
        if existing is not None and existing.request_id == request.request_id and existing.status in _SETTLED:
            log.info("fix already handled", extra={"fix_id": fid, "status": existing.status})
            return existing
        in_review = None if request.dry_run else next(
            (r for r in self.store.of_pattern(request.fingerprint) if r.status in _IN_REVIEW), None)
        if in_review is not None:
            # a newer attempt while a fix is in review: it joins the open fix instead of starting over
            return await self._emit(in_review, in_review.status, request_id=request.request_id)
        base = self._base(request, existing)
        dry = request.dry_run
        result = await self._emit(base, "pending", dry_run=dry)
        if self._analyzer is None:
            return await self._emit(
                result,
                "skipped_no_api_key",
                dry_run=dry,
                error="ANTHROPIC_API_KEY is not set: rule-based suggestion only",
            )
        refused = self.budget.try_acquire()
        if refused is not None:
            return await self._emit(result, "skipped_budget", dry_run=dry, error=refused)
        result = await self._emit(result, "analyzing", dry_run=dry)
        try:
            windows, context = await self._context(request)
            prompt = apply_strategy(build_prompt(request, windows), result.strategy or "default")
            if len(self.settings.fix_candidate_models) >= 2 and self._git is not None:
                analysis, result = await self._compare(prompt, result, context, secrets_of(request))
            else:
                analysis = await (
                    cast(ModelAnalyzer, self._analyzer).analyze(prompt, model=result.model)
                    if self.settings.fix_models else self._analyzer.analyze(prompt))
        except ClaudeUnavailable as exc:
            not_before = self._clock() + self.settings.fix_park_seconds
            await self._park(request, not_before)
            return await self._emit(
                result, "pending", dry_run=dry, error=f"parked until {not_before:.0f}: {exc}"
            )
        except (AnalysisFailed, FixError) as exc:
            return await self._emit(result, "analysis_failed", dry_run=dry, error=str(exc))
        self.budget.record_tokens(analysis.input_tokens + analysis.output_tokens)
        result = result.model_copy(
            update={
                "root_cause": scrub(analysis.root_cause, where="fix_result", known=secrets_of(request), model=True),
                "explanation": scrub(
                    analysis.explanation, where="fix_result", known=secrets_of(request), model=True
                ),
                "confidence": analysis.confidence,
                "fixability": analysis.fixability,
                "input_tokens": analysis.input_tokens,
                "output_tokens": analysis.output_tokens,
            }
        )
        if not analysis.edits:
            return await self._emit(
                result, "fix_invalid", dry_run=dry, error="the analysis proposed no code change"
            )
        if self._git is None:
            return await self._emit(
                result,
                "fix_generated",
                dry_run=dry,
                error="no repository configured (repo_url): edits were not checked or applied",
            )
        return await self._apply_and_publish(request, result, analysis, context)

    async def _compare(
        self, prompt: str, result: FixResult, context: EditContext, known: set[str]
    ) -> tuple[Analysis, FixResult]:
        """Ask every candidate model, check each candidate, keep the best (:mod:`.candidates`)."""
        assert self._git is not None and self._analyzer is not None
        git, models = self._git, self.settings.fix_candidate_models
        answers = await candidates.ask_all(cast(ModelAnalyzer, self._analyzer), prompt, models)
        found = [a for a in answers if isinstance(a, candidates.Candidate)]
        if not found:
            first = next((a for a in answers if isinstance(a, ClaudeUnavailable)), answers[0])
            raise first if isinstance(first, FixError) else AnalysisFailed(str(first))
        with tempfile.TemporaryDirectory(prefix="streamfix-candidates-") as folder:
            async with self._repo_lock(git):
                await asyncio.to_thread(git.sync)
                base = await asyncio.to_thread(candidates.snapshot, git.root, Path(folder))
            checked = {
                c.model: await asyncio.to_thread(
                    candidates.check, base, c, self.settings, context=context, known=known
                )
                for c in found
            }
        every = [checked.get(m) or candidates.Candidate(model=m, analysis=None, error=str(a)[:300])
                 for m, a in zip(models, answers, strict=True)]
        best = candidates.choose(every) or max(checked.values(), key=lambda c: c.score)
        assert best.analysis is not None
        for c in checked.values():
            if c is not best and c.analysis is not None:
                self.budget.record_tokens(c.analysis.input_tokens + c.analysis.output_tokens)
        records = [c.record() for c in every]
        log.info("candidates checked", extra={"chosen": best.model, "scores": [r["score"] for r in records]})
        return best.analysis, result.model_copy(update={"model": best.model, "candidates": records})

    @contextlib.asynccontextmanager
    async def _repo_lock(self, git: GitPort) -> AsyncIterator[None]:
        """This process's lock, then the clone's file lock (other processes and instances)."""
        async with self._git_lock:
            held = git.locked()
            await asyncio.to_thread(held.__enter__)
            try:
                yield
            finally:
                await asyncio.to_thread(held.__exit__, None, None, None)

    async def _context(self, request: FixRequest) -> tuple[list[SourceWindow], EditContext]:
        if self._git is None:
            return [], EditContext()
        git = self._git
        async with self._repo_lock(git):
            await asyncio.to_thread(git.sync)
            files = await asyncio.to_thread(git.files)
            windows = gather_context(
                git.root,
                request.frames,
                files,
                context_lines=self.settings.fix_context_lines,
                max_chars=self.settings.fix_max_context_chars,
                in_app_paths=self.settings.fix_in_app_paths,
            )
            context = await asyncio.to_thread(
                edit_context, git.root, request, files, windows, in_app_paths=self.settings.fix_in_app_paths
            )
            return windows, context

    async def _apply_and_publish(
        self, request: FixRequest, result: FixResult, analysis: Analysis, context: EditContext
    ) -> FixResult:
        assert self._git is not None
        git, s, dry = self._git, self.settings, request.dry_run
        branch = branch_name(request)
        async with self._repo_lock(git):
            try:
                await asyncio.to_thread(git.sync)
                await asyncio.to_thread(git.start_branch, branch)
                planned = await asyncio.to_thread(
                    apply.plan,
                    git.root,
                    analysis.edits,
                    blocked=s.fix_blocked_paths,
                    max_diff_lines=s.fix_max_diff_lines,
                    policy=edit_policy(s),
                    context=context,
                    known=secrets_of(request),
                )
            except apply.UnsafeEdit as exc:
                await asyncio.to_thread(git.restore)
                return await self._emit(
                    result, "fix_invalid", dry_run=dry, error=exc.reason if exc.path == "-" else str(exc)
                )
            except FixError as exc:
                return await self._emit(result, "analysis_failed", dry_run=dry, error=str(exc))
            result = result.model_copy(update={"diff": planned.diff})
            if dry:
                await asyncio.to_thread(git.restore)
                return await self._emit(result, "fix_generated", dry_run=True, error="dry run: patch only")
            if analysis.confidence < s.fix_min_confidence:
                await asyncio.to_thread(git.restore)
                return await self._emit(
                    result,
                    "fix_generated",
                    error=(
                        f"confidence {analysis.confidence:.2f} is below {s.fix_min_confidence:.2f}: "
                        "stopped at the analysis, no branch or pull request"
                    ),
                )
            result = await self._emit(result, "fix_generated")
            try:
                await asyncio.to_thread(apply.write, git.root, planned, blocked=s.fix_blocked_paths)
                message = commit_message(
                    request, analysis.root_cause, analysis.explanation, known=secrets_of(request)
                )
                sha = await asyncio.to_thread(git.commit, planned.paths, message, when=request.requested_at)
                result = result.model_copy(update={"branch": branch, "commit_sha": sha})
                if self._pulls is None:
                    return await self._emit(
                        result,
                        "fix_generated",
                        error=(
                            f"GITHUB_TOKEN or github_repo is not set: fix committed on local branch {branch} "
                            f"in {git.root}, not pushed"
                        ),
                    )
                await asyncio.to_thread(git.push, branch, sha)
            except apply.UnsafeEdit as exc:
                return await self._emit(result, "fix_invalid", error=str(exc))
            except FixError as exc:
                return await self._emit(result, "pr_failed", error=str(exc))
            finally:
                await asyncio.to_thread(git.restore)
        result = await self._emit(result, "branch_pushed")
        if not request.create_pr:
            return result
        return await self._open_pr(request, result, analysis, branch, planned.changed_lines)

    async def _open_pr(
        self, request: FixRequest, result: FixResult, analysis: Analysis, branch: str, changed_lines: int
    ) -> FixResult:
        assert self._pulls is not None
        pulls = self._pulls
        try:
            signature = ErrorSignature(
                fingerprint=request.fingerprint,
                pattern_id=short_id(request.fingerprint),
                error_type=request.error_type,
                file=request.file,
                line=request.line,
                function=request.function,
            )
            issues = await asyncio.to_thread(
                lambda: pulls.find_issues(signature, labels=self.settings.fix_issue_labels)
            )
            known = secrets_of(request)
            body = pr_body(
                request,
                root_cause=analysis.root_cause,
                explanation=analysis.explanation,
                confidence=analysis.confidence,
                changed_lines=changed_lines,
                issues=issues,
                known=known,
            )
            if result.candidates:
                body += "\n\n" + scrub(candidates.markdown(result.candidates, result.model or ""),
                                        where="pr_body", known=known)
            labels = pr_labels(request)
            ref = await asyncio.to_thread(
                lambda: pulls.open_pr(
                    branch=branch,
                    base=self._git.default_branch if self._git else "main",
                    title=pr_title(request, known=known),
                    body=body,
                    labels=labels,
                    draft=self.settings.fix_draft_prs,
                )
            )
        except FixError as exc:
            return await self._emit(result, "pr_failed", error=str(exc))
        return await self._emit(result, "pr_open", pr_number=ref.number, pr_url=ref.url, error="",
                                pr_opened_at=self._clock())


@contextlib.asynccontextmanager
async def _traced(trace_id: str | None) -> AsyncIterator[None]:
    """The request's trace id on every line logged while it is handled (the task's context only)."""
    with trace(trace_id):
        yield


def _scrubbed(result: FixResult) -> FixResult:
    """Every free-text field of a fix result redacted (results go to Kafka, the API and logs)."""
    changes: dict[str, Any] = {}
    for name in ("message", "suggested_fix", "root_cause", "explanation", "error", "error_type", "category"):
        value = getattr(result, name, None)
        if isinstance(value, str) and value:
            cleaned = scrub(value, where="fix_result", model=name in ("root_cause", "explanation", "error"))
            if cleaned != value:
                changes[name] = cleaned
    diff = getattr(result, "diff", None)
    if isinstance(diff, str) and diff:
        cleaned = scrub_code(diff, where="fix_result")
        if cleaned != diff:
            changes["diff"] = cleaned
    return result.model_copy(update=changes) if changes else result
