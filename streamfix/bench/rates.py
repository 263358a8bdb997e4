"""Spike detection and forecast accuracy of :mod:`streamfix.core.rates` on synthetic series.

Each series is hourly error counts over ``days`` days: a base rate with a daily cycle, quieter
weekends, Poisson noise, and spikes of known size (3× to 8× the expected count, one to three buckets
long) injected at random hours. Detection is scored per bucket after the first ``skip_days``:

* precision: detected buckets that are injected spike buckets;
* recall: spike buckets that were detected, among those whose observed count is at least 3× the
  expected count, on an expected count of at least ``min_baseline`` (5) per bucket. An injected spike
  is a Poisson draw around 3×–8× the expected count, so some land below 3× as observed; those, and
  spikes on a baseline below 5 (2.4 → 7 is within Poisson noise), are reported apart as
  ``faint_recall`` and count neither as misses nor as false alerts;
* false alerts per day: detected buckets that are not spikes, per simulated day.

Forecasts are one step and one day ahead, compared with the seasonal-naive forecast (the same hour
one day earlier) by mean absolute error over the same buckets.

Parameters are chosen by leave-one-out over the series families (base rate, amplitude): for each
family, the grid point with the best score on the *other* families is evaluated on it, so no reported
figure comes from parameters tuned on the series it is reported for.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, replace

from streamfix.core.rates import RateConfig, RateState, analyze, forecast, seasonal_naive, update


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    base: float
    amplitude: float
    weekend: float


FAMILIES: tuple[Family, ...] = (
    Family("low-10", 10.0, 0.6, 0.6),
    Family("mid-30", 30.0, 0.5, 0.7),
    Family("high-120", 120.0, 0.7, 0.5),
    Family("flat-20", 20.0, 0.1, 0.9),
    Family("peaky-50", 50.0, 0.9, 0.6),
)


@dataclass(frozen=True, slots=True)
class Series:
    counts: tuple[float, ...]
    expected: tuple[float, ...]
    spikes: frozenset[int]


def _poisson(rng: random.Random, lam: float) -> int:
    if lam < 30:
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                return k
            k += 1
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def synth(family: Family, seed: int, *, days: int = 28, spike_every_hours: int = 36) -> Series:
    rng = random.Random(f"{family.name}:{seed}")
    phase = rng.uniform(0, 2 * math.pi)
    n = days * 24
    expected = []
    for t in range(n):
        daily = 1 + family.amplitude * math.sin(2 * math.pi * t / 24 + phase)
        weekly = family.weekend if (t // 24) % 7 in (5, 6) else 1.0
        expected.append(max(0.5, family.base * daily * weekly))
    counts = [float(_poisson(rng, lam)) for lam in expected]
    spikes: set[int] = set()
    t = 48 + rng.randrange(spike_every_hours)
    while t < n - 3:
        size = rng.choice((3.0, 4.0, 5.0, 8.0))
        length = rng.choice((1, 1, 2, 3))
        for i in range(t, min(n, t + length)):
            counts[i] = float(_poisson(rng, expected[i] * size))
            spikes.add(i)
        t += length + spike_every_hours // 2 + rng.randrange(spike_every_hours)
    return Series(tuple(counts), tuple(expected), frozenset(spikes))


@dataclass(frozen=True, slots=True)
class Score:
    precision: float
    recall: float
    false_per_day: float
    mae_model_h1: float
    mae_naive_h1: float
    mae_model_h24: float
    mae_naive_h24: float
    faint_recall: float

    @property
    def objective(self) -> float:
        """What the parameter search maximises: F1 less the false alerts per day."""
        f1 = 2 * self.precision * self.recall / max(1e-9, self.precision + self.recall)
        return f1 - self.false_per_day


def evaluate(series: Series, config: RateConfig, *, skip_days: int = 2, min_baseline: float = 5.0) -> Score:
    state = RateState()
    start = skip_days * 24
    tp = fp = fn = faint = faint_found = 0
    err_model_1: list[float] = []
    err_naive_1: list[float] = []
    err_model_24: list[float] = []
    err_naive_24: list[float] = []
    pending_24: dict[int, float] = {}
    history: list[float] = []
    for t, y in enumerate(series.counts):
        verdict = analyze(state, config, t, y)
        if t >= start:
            is_spike = t in series.spikes
            if is_spike and (series.expected[t] < min_baseline or y < 3 * series.expected[t]):
                faint += 1  # not a ≥3× spike as observed: neither a miss nor a false alert
                faint_found += verdict.spike
            elif verdict.spike and is_spike:
                tp += 1
            elif verdict.spike:
                fp += 1
            elif is_spike:
                fn += 1
            if not is_spike and (t - 1) not in series.spikes:
                # forecast accuracy on ordinary buckets: what the baseline is for
                err_model_1.append(abs(verdict.baseline - y))
                err_naive_1.append(abs(seasonal_naive(history, 24) - y))
                if t in pending_24 and len(history) >= 48:
                    err_model_24.append(abs(pending_24[t] - y))
                    err_naive_24.append(abs(seasonal_naive(history[:-23], 24, 24) - y))
        state = update(state, config, t, y)
        history.append(y)
        pending_24.pop(t, None)
        if state.n >= 24:
            pending_24[t + 24] = forecast(state, config, 24)[-1].mean
    days = (len(series.counts) - start) / 24

    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else float("nan")

    return Score(
        precision=tp / (tp + fp) if tp + fp else 1.0,
        recall=tp / (tp + fn) if tp + fn else 1.0,
        false_per_day=fp / days,
        mae_model_h1=mean(err_model_1), mae_naive_h1=mean(err_naive_1),
        mae_model_h24=mean(err_model_24), mae_naive_h24=mean(err_naive_24),
        faint_recall=faint_found / faint if faint else 1.0,
    )


def pooled(scores: list[Score]) -> Score:
    def avg(name: str) -> float:
        return float(sum(getattr(s, name) for s in scores)) / len(scores)

    return Score(*(avg(name) for name in Score.__slots__))


GRID: dict[str, tuple[float | str, ...]] = {
    "alpha": (0.05, 0.1, 0.2),
    "gamma": (0.1, 0.2, 0.3),
    "z_spike": (3.5, 4.0, 5.0),
    "min_count": (5, 8),
    "transform": ("sqrt", "log1p"),
}


def grid_configs(base: RateConfig) -> list[RateConfig]:
    keys = list(GRID)
    combos = itertools.product(*GRID.values())
    return [replace(base, **dict(zip(keys, values, strict=True))) for values in combos]  # type: ignore[arg-type]


def leave_one_out(seeds: range, *, days: int = 28) -> list[tuple[Family, RateConfig, Score]]:
    """For each family: the config best on the others, scored on it."""
    data = {f.name: [synth(f, s, days=days) for s in seeds] for f in FAMILIES}
    configs = grid_configs(RateConfig())
    table = {(f.name, i): pooled([evaluate(series, c) for series in data[f.name]])
             for f in FAMILIES for i, c in enumerate(configs)}
    out = []
    for held in FAMILIES:
        others = [f.name for f in FAMILIES if f.name != held.name]
        best = max(range(len(configs)), key=lambda i: sum(table[(o, i)].objective for o in others))
        out.append((held, configs[best], table[(held.name, best)]))
    return out
