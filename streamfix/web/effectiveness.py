"""``GET /error-monitor/fixes/effectiveness``: did merged fixes stop their patterns, per group and A/B arm.

The report is :func:`streamfix.core.effectiveness.report` over the ``fixes`` and ``patterns`` tables.
:func:`update_metrics` puts the per-group rates into the Prometheus gauges when ``/metrics`` is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from streamfix.core import effectiveness
from streamfix.core.records import Pattern
from streamfix.runtime import metrics
from streamfix.runtime.shared import StreamfixApp
from streamfix.services.grouping import effect_policy
from streamfix.web import http
from streamfix.web.context import ApiContext
from streamfix.web.routing import mount


def fix_entries(fix_maps: list[Any]) -> list[dict[str, Any]]:
    return [
        dict(fix) for history in fix_maps if history for fix in history.values() if isinstance(fix, Mapping)
    ]


def compute(ctx: ApiContext, patterns: list[Pattern], fix_maps: list[Any], ab_by: str) -> dict[str, Any]:
    by_fp = {p.fingerprint: p for p in patterns}
    return effectiveness.report(
        fix_entries(fix_maps),
        by_fp,
        ctx.clock(),
        effect_policy(ctx.settings),
        ab_by=ab_by,
        min_fixes=ctx.settings.fix_ab_min_fixes,
    )


def update_metrics(ctx: ApiContext) -> None:
    """The judged fixes and the stopped ratio per group, as gauges."""
    body = compute(ctx, ctx.reader.patterns(), ctx.reader.fixes(), "model")
    for by, groups in body["by"].items():
        for value, stats in groups.items():
            metrics.FIX_JUDGED.labels(by=by, value=value).set(stats["judged"])
            if stats["rate"] is not None:
                metrics.FIX_EFFECTIVE_RATIO.labels(by=by, value=value).set(stats["rate"])


def register(sf: StreamfixApp, ctx: ApiContext) -> None:
    async def report(request: web.Request) -> web.StreamResponse:
        """Per merged fix: occurrences in equal windows before and after the merge, time to PR and to
        merge; stopped rates with 95 % intervals per category, error type, model, strategy and trigger;
        the A/B comparison of the arms in ``ab_by``."""
        ab_by = http.choice(request.query, "ab_by", effectiveness.GROUPS, default="model") or "model"
        body = await ctx.cache.get(
            f"effectiveness|{ab_by}",
            lambda: (ctx.reader.patterns(), ctx.reader.fixes()),
            lambda snap: http.dumps(compute(ctx, snap[0], snap[1], ab_by)),
        )
        return http.raw_json(body)

    mount(sf, "/error-monitor/fixes/effectiveness", "fixes_effectiveness", get=report)
