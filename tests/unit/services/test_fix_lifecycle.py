"""Attempts and regressions through the group and fix-results services (in memory, no broker).

Each case plays the whole loop with a different trigger of the first fix (automatic, API or CLI):
fix results land in the ``fixes``/``fix_state`` tables, the fix merges, the pattern recurs after the
deploy grace period and becomes ``regressed``, and the next request is attempt 2, kept beside attempt 1.
"""

from __future__ import annotations

from typing import Any

import pytest

from streamfix.core.lifecycle import LifecyclePolicy
from streamfix.core.records import FIX_STATES, PATTERNS
from streamfix.core.trigger import TriggerPolicy
from streamfix.fixing.naming import fix_id
from streamfix.kafka.publish import MemoryPublisher
from streamfix.kafka.wire import ErrorEventRecord, FixRequest, FixResult
from streamfix.services.fixes import attempt_of, requested_fix, track_result
from streamfix.services.grouping import GroupConfig, GroupTables, group_event
from tests.unit.services.test_pipeline_services import DictCounts

FP = "fp1:abc"
T0 = 1_764_324_000.0
GRACE = 600.0


def event(at: float, offset: int, auto_fix: bool) -> dict[str, Any]:
    return ErrorEventRecord(
        fingerprint=FP,
        error_type="KeyError",
        message="'a'",
        category="cache_error",
        severity="HIGH",
        fixable=True,
        timestamp=at,
        detected_at=at,
        auto_fix=auto_fix,
        source_partition=0,
        source_offset=offset,
    ).model_dump()


def result(request: FixRequest, status: str, at: float) -> FixResult:
    return FixResult(
        fix_id=fix_id(FP, request.attempt),
        request_id=request.request_id,
        fingerprint=FP,
        status=status,
        attempt=request.attempt,
        created_at=at,
        updated_at=at,
    )  # type: ignore[arg-type]


class Loop:
    def __init__(self) -> None:
        self.tables = GroupTables({}, {}, DictCounts())
        self.fixes: dict[str, Any] = {}
        self.out = MemoryPublisher()
        self.config = GroupConfig(
            window_seconds=60,
            retention_seconds=86400,
            policy=TriggerPolicy(threshold=1, auto_fix_enabled=False, regression_grace_seconds=GRACE),
            lifecycle=LifecyclePolicy(grace_seconds=GRACE),
        )
        self.offset = 0

    async def occur(self, at: float, auto_fix: bool) -> None:
        self.offset += 1
        await group_event(
            event(at, self.offset, auto_fix), self.tables, self.config, self.out, clock=lambda: at
        )

    def auto_requests(self) -> list[FixRequest]:
        return self.out.records("fix_requests", FixRequest)  # type: ignore[no-any-return]

    def lifecycle(self, request: FixRequest, at: float) -> None:
        for i, status in enumerate(
            ("pending", "analyzing", "fix_generated", "branch_pushed", "pr_open", "merged")
        ):
            track_result(result(request, status, at + i), self.fixes, self.tables.fix_state)


@pytest.mark.parametrize("trigger", ["auto", "api", "cli"])
async def test_regression_opens_attempt_two_whatever_made_attempt_one(trigger: str) -> None:
    loop = Loop()
    auto = trigger == "auto"
    await loop.occur(T0, auto_fix=auto)
    pattern = loop.tables.pattern(FP)
    assert pattern is not None
    if auto:
        (first,) = loop.auto_requests()
    else:  # the API and the CLI (--report) both number past the pattern's attempts; neither writes fix_state
        first = requested_fix(pattern, loop.tables.fix(FP), "api" if trigger == "api" else "cli", T0)
    assert (first.request_id, first.attempt) == (f"{FP}#1", 1)
    loop.lifecycle(first, T0 + 10)
    state = loop.tables.fix(FP)
    assert state is not None and (state.status, state.attempts, state.merged_at) == ("merged", 1, T0 + 15)

    await loop.occur(T0 + 15 + GRACE - 1, auto_fix=auto)  # the old code still running: not a regression
    assert loop.tables.pattern(FP).status == "active"  # type: ignore[union-attr]
    assert len(loop.auto_requests()) == (1 if auto else 0)

    await loop.occur(T0 + 15 + GRACE + 5, auto_fix=auto)
    back = loop.tables.pattern(FP)
    assert back is not None and (back.status, back.regression_count) == ("regressed", 1)
    second = loop.auto_requests()[-1] if auto else requested_fix(back, loop.tables.fix(FP), "api", T0 + 700)
    assert (second.request_id, second.attempt) == (f"{FP}#2", 2)
    loop.lifecycle(second, T0 + 800)
    assert set(loop.fixes[FP]) == {fix_id(FP), fix_id(FP, 2)}  # both attempts kept
    assert loop.fixes[FP][fix_id(FP)]["status"] == "merged"
    assert FIX_STATES.decode(loop.tables.fix_state[FP]).attempts == 2
    assert PATTERNS.decode(loop.tables.patterns[FP]).status == "regressed"


@pytest.mark.parametrize(
    ("request_id", "attempt", "expected"),
    [
        ("fp1:x#3", None, 3),
        ("fp1:x#3", 4, 4),
        ("fp1:x", None, 1),
        ("fp1:x#zero", None, 1),
        ("fp1:x#0", None, 1),
    ],
)
def test_attempt_of(request_id: str, attempt: int | None, expected: int) -> None:
    r = FixResult(
        fix_id="f",
        request_id=request_id,
        fingerprint="fp1:x",
        status="pending",
        attempt=attempt,
        created_at=0,
        updated_at=0,
    )
    assert attempt_of(r) == expected


def test_older_attempt_does_not_move_the_state_back() -> None:
    fixes: dict[str, Any] = {}
    state: dict[str, Any] = {}
    two = FixResult(
        fix_id=fix_id(FP, 2),
        request_id=f"{FP}#2",
        fingerprint=FP,
        status="pr_open",
        created_at=5,
        updated_at=5,
    )
    late_one = FixResult(
        fix_id=fix_id(FP), request_id=f"{FP}#1", fingerprint=FP, status="closed", created_at=1, updated_at=6
    )
    track_result(two, fixes, state)
    track_result(late_one, fixes, state)
    assert FIX_STATES.decode(state[FP]).request_id == f"{FP}#2"
    assert set(fixes[FP]) == {fix_id(FP), fix_id(FP, 2)}


async def test_archive_sweep_compacts_through_the_owner_and_recurrence_regresses() -> None:
    from streamfix.services.grouping import archive_sweep

    loop = Loop()
    loop.config = GroupConfig(
        window_seconds=60,
        retention_seconds=86400,
        policy=loop.config.policy,
        lifecycle=LifecyclePolicy(grace_seconds=GRACE, archive_seconds=30 * 86400),
    )
    await loop.occur(T0, auto_fix=False)
    full = loop.tables.pattern(FP)
    assert full is not None and full.windows
    assert await archive_sweep([full], loop.config, loop.out, clock=lambda: T0 + 29 * 86400) == 0
    later = T0 + 31 * 86400
    assert await archive_sweep([full], loop.config, loop.out, clock=lambda: later) == 1
    (record,) = loop.out.records("errors", ErrorEventRecord)
    assert record.archive and record.fingerprint == FP
    await group_event(record.model_dump(), loop.tables, loop.config, loop.out, clock=lambda: later)
    small = loop.tables.pattern(FP)
    assert small is not None and (small.windows, small.traceback, small.count) == ({}, "", 1)
    assert len(PATTERNS.dumps(small)) < len(PATTERNS.dumps(full))
    assert await archive_sweep([small], loop.config, loop.out, clock=lambda: later) == 0  # compacted once
    await loop.occur(later + 10, auto_fix=False)
    back = loop.tables.pattern(FP)
    assert back is not None and (back.status, back.count, back.regression_count) == ("regressed", 2, 1)
    assert back.windows


async def test_archive_request_for_a_pattern_that_came_back_is_ignored() -> None:
    from streamfix.services.grouping import archive_record_for

    loop = Loop()
    loop.config = GroupConfig(
        window_seconds=60,
        retention_seconds=86400,
        policy=loop.config.policy,
        lifecycle=LifecyclePolicy(archive_seconds=86400),
    )
    await loop.occur(T0, auto_fix=False)
    stale = loop.tables.pattern(FP)
    assert stale is not None
    await loop.occur(T0 + 2 * 86400, auto_fix=False)  # came back before the request arrived
    request = archive_record_for(stale, T0 + 2 * 86400)
    await group_event(
        request.model_dump(), loop.tables, loop.config, loop.out, clock=lambda: T0 + 2 * 86400 + 1
    )
    assert loop.tables.pattern(FP).windows  # type: ignore[union-attr]
