"""Rate analysis of error counts: seasonal baseline, robust spike score, trend and forecast.

Pure and incremental. One :class:`RateState` per series (a pattern, a category, a service) holds a
fixed number of floats whatever the length of the history, so the state of every pattern fits in a
table value and one bucket's update costs O(1):

* **Baseline**: additive Holt-Winters (level, trend, a daily profile of ``season`` slots) plus a
  day-of-week offset for weekly seasonality, on transformed counts (``sqrt`` by default, or
  ``log1p``). This is the recursion of statsmodels'
  ``ExponentialSmoothing(trend="add", seasonal="add")``; a test checks that both forecast the same
  values for the same smoothing parameters. statsmodels itself refits over the whole history on every
  call, which is neither incremental nor bounded, so the worker runs the recursion and statsmodels is
  a test dependency only.
* **Robustness**: an observation further than ``clip`` robust scales from its forecast updates the
  model as if it were at that distance (a Huber update), so a spike does not drag the baseline up.
* **Scale**: an exponentially weighted mean absolute one-step error (×1.25 ≈ one standard deviation
  for normal errors), floored by the Poisson deviation ``sqrt(forecast)`` because counts are counts.
* **Spike score**: ``(count - forecast) / scale``. A bucket is a spike when the score is at least
  ``z_spike``, the count at least ``min_count`` and at least ``ratio`` times the baseline.
* **Trend**: rising, steady or falling from the deseasonalised level against its value one season
  earlier, compared with the scale.
* **Forecast**: ``level + h*trend + seasonal`` with an ETS(A,A,A) prediction interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Trend = Literal["rising", "steady", "falling"]

Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class RateConfig:
    """Model parameters. ``season`` buckets make a day, ``week_days`` days a week (0: no weekly term)."""

    bucket_seconds: int = 3600
    season: int = 24
    week_days: int = 7
    alpha: float = 0.05
    beta: float = 0.01
    gamma: float = 0.2
    delta: float = 0.1
    scale_alpha: float = 0.05
    clip: float = 3.0
    z_spike: float = 4.0
    ratio: float = 2.0
    min_count: int = 8
    warmup: int = 24
    max_gap: int = 24 * 7
    transform: Literal["sqrt", "log1p", "none"] = "sqrt"

    def __post_init__(self) -> None:
        if self.bucket_seconds <= 0 or self.season <= 0:
            raise ValueError("bucket_seconds and season must be positive")
        for name in ("alpha", "beta", "gamma", "delta", "scale_alpha"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")


@dataclass(frozen=True, slots=True)
class RateState:
    """The bounded state of one series; JSON-able through :meth:`to_dict` / :meth:`from_dict`."""

    bucket: int = -1  # index (start // bucket_seconds) of the last closed bucket; -1: none yet
    n: int = 0  # buckets seen
    level: float = 0.0
    trend: float = 0.0
    seasonal: tuple[float, ...] = ()
    weekly: tuple[float, ...] = ()
    scale: float = 0.0
    last: float = 0.0
    levels: tuple[float, ...] = ()  # the level after each slot of the last season (for the trend)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "n": self.n,
            "level": self.level,
            "trend": self.trend,
            "seasonal": list(self.seasonal),
            "weekly": list(self.weekly),
            "scale": self.scale,
            "last": self.last,
            "levels": list(self.levels),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RateState:
        if not data:
            return cls()
        return cls(
            bucket=int(data.get("bucket", -1)),
            n=int(data.get("n", 0)),
            level=float(data.get("level", 0.0)),
            trend=float(data.get("trend", 0.0)),
            seasonal=tuple(float(v) for v in data.get("seasonal", ())),
            weekly=tuple(float(v) for v in data.get("weekly", ())),
            scale=float(data.get("scale", 0.0)),
            last=float(data.get("last", 0.0)),
            levels=tuple(float(v) for v in data.get("levels", ())),
        )


@dataclass(frozen=True, slots=True)
class Forecast:
    mean: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the model says about one bucket's count."""

    count: float
    baseline: float
    scale: float
    score: float
    spike: bool
    trend: Trend
    forecast: tuple[Forecast, ...] = field(default_factory=tuple)


def bucket_of(ts: float, config: RateConfig) -> int:
    return int(ts // config.bucket_seconds)


def _slots(state: RateState, config: RateConfig) -> tuple[tuple[float, ...], tuple[float, ...]]:
    seasonal = state.seasonal if len(state.seasonal) == config.season else (0.0,) * config.season
    weekly = state.weekly if len(state.weekly) == config.week_days else (0.0,) * config.week_days
    return seasonal, weekly


def _seasonal_term(state: RateState, config: RateConfig, bucket: int) -> float:
    seasonal, weekly = _slots(state, config)
    term = seasonal[bucket % config.season]
    if config.week_days:
        term += weekly[(bucket // config.season) % config.week_days]
    return term


def _to_model(count: float, config: RateConfig) -> float:
    if config.transform == "sqrt":
        return math.sqrt(max(count, 0.0))
    return math.log1p(max(count, 0.0)) if config.transform == "log1p" else count


def _to_count(value: float, config: RateConfig) -> float:
    if config.transform == "sqrt":
        return max(0.0, value) ** 2 + 0.25 if value > 0 else 0.0
    return max(0.0, math.expm1(min(value, 50.0)) if config.transform == "log1p" else value)


def _predict_model(state: RateState, config: RateConfig, bucket: int) -> float:
    h = max(1, bucket - state.bucket)
    return state.level + h * state.trend + _seasonal_term(state, config, bucket)


def predict(state: RateState, config: RateConfig, bucket: int) -> float:
    """The model's expected count of ``bucket`` (any bucket after the last closed one)."""
    if state.n == 0:
        return 0.0
    return _to_count(_predict_model(state, config, bucket), config)


def robust_scale(state: RateState, expected: float) -> float:
    """One standard deviation of a count around ``expected``.

    ``state.scale`` is the smoothed absolute error in units of ``sqrt(expected)`` (a Pearson residual),
    so the scale follows the count's level through the day as Poisson noise does, and is never below
    the Poisson deviation itself.
    """
    return max(1.0, state.scale * 1.25) * math.sqrt(max(expected, 1.0))


def update(state: RateState, config: RateConfig, bucket: int, count: float) -> RateState:
    """Close ``bucket`` with ``count`` occurrences; empty buckets in between count as zeros.

    A bucket at or before the last closed one is ignored (returns ``state``): counts are final once
    a later bucket closed.
    """
    if state.n and bucket <= state.bucket:
        return state
    if state.n == 0:
        seasonal, weekly = _slots(state, config)
        seasonal = _set(seasonal, bucket % config.season, _to_model(count, config))
        return RateState(
            bucket=bucket,
            n=1,
            level=_to_model(count, config),
            trend=0.0,
            seasonal=seasonal,
            weekly=weekly,
            scale=0.8,
            last=float(count),
        )
    gap = bucket - state.bucket - 1
    for empty in range(state.bucket + 1, state.bucket + 1 + min(gap, config.max_gap)):
        state = _step(state, config, empty, 0.0)
    if gap > config.max_gap:
        state = replace(state, bucket=bucket - 1)
    return _step(state, config, bucket, float(count))


def _set(values: tuple[float, ...], index: int, value: float) -> tuple[float, ...]:
    return (*values[:index], value, *values[index + 1 :])


def _first_season(state: RateState, config: RateConfig, bucket: int, y: float) -> RateState:
    """The first day initialises the model: level = mean, seasonal slot = deviation from it."""
    value = _to_model(y, config)
    n = state.n + 1
    level = state.level + (value - state.level) / n
    seasonal = _set(state.seasonal, bucket % config.season, value)
    if n == config.season:  # centre the profile on the day's mean
        seasonal = tuple(v - level for v in seasonal)
    return replace(state, bucket=bucket, n=n, level=level, seasonal=seasonal, last=y)


def _step(state: RateState, config: RateConfig, bucket: int, y: float) -> RateState:
    if state.n < config.season:
        return _first_season(state, config, bucket, y)
    seasonal, weekly = (list(v) for v in _slots(state, config))
    slot, day = bucket % config.season, (bucket // config.season) % max(1, config.week_days)
    week_term = weekly[day] if config.week_days else 0.0
    prior_level = state.level + state.trend
    expected = _to_count(prior_level + seasonal[slot] + week_term, config)
    scale = robust_scale(state, expected)
    error = y - expected
    bound = config.clip * scale
    clipped = max(-bound, min(bound, error)) if state.n >= config.warmup else error
    y_eff = _to_model(expected + clipped, config)
    level = config.alpha * (y_eff - seasonal[slot] - week_term) + (1 - config.alpha) * prior_level
    trend = config.beta * (level - state.level) + (1 - config.beta) * state.trend
    seasonal[slot] = config.gamma * (y_eff - prior_level - week_term) + (1 - config.gamma) * seasonal[slot]
    if config.week_days and state.n >= config.season:
        weekly[day] = config.delta * (y_eff - level - seasonal[slot]) + (1 - config.delta) * weekly[day]
    relative = abs(clipped) / math.sqrt(max(expected, 1.0))
    new_scale = config.scale_alpha * relative + (1 - config.scale_alpha) * state.scale
    levels = state.levels if len(state.levels) == config.season else (level,) * config.season
    return RateState(
        bucket=bucket,
        n=state.n + 1,
        level=level,
        trend=trend,
        seasonal=tuple(seasonal),
        weekly=tuple(weekly),
        scale=new_scale,
        last=y,
        levels=_set(levels, slot, level),
    )


def trend_of(state: RateState, config: RateConfig) -> Trend:
    """Rising or falling: the deseasonalised level against its value one season ago.

    The change must exceed one robust scale and 10 % of the level, so noise and small drifts read as
    steady.
    """
    if state.n < config.season + config.warmup or len(state.levels) != config.season:
        return "steady"
    now = _to_count(state.level, config)
    before = _to_count(state.levels[(state.bucket + 1) % config.season], config)
    change = now - before
    threshold = max(robust_scale(state, now), 0.1 * max(now, before))
    if change > threshold:
        return "rising"
    if change < -threshold:
        return "falling"
    return "steady"


def forecast(state: RateState, config: RateConfig, horizon: int, *, z: float = Z95) -> tuple[Forecast, ...]:
    """The next ``horizon`` buckets after the last closed one, with ETS(A,A,A) prediction intervals."""
    out: list[Forecast] = []
    variance_sum = 0.0
    for h in range(1, horizon + 1):
        mean = predict(state, config, state.bucket + h)
        if h > 1:
            j = h - 1
            c = config.alpha * (1 + j * config.beta) + (config.gamma if j % config.season == 0 else 0.0)
            variance_sum += c * c
        sd = robust_scale(state, mean) * math.sqrt(1 + variance_sum) if state.n else 0.0
        out.append(Forecast(mean=mean, low=max(0.0, mean - z * sd), high=mean + z * sd))
    return tuple(out)


def analyze(state: RateState, config: RateConfig, bucket: int, count: float, *, horizon: int = 0) -> Analysis:
    """Judge ``count`` occurrences so far in ``bucket`` against the model (before that bucket closes).

    Partial counts only grow, so a spike seen in an open bucket stays a spike when it closes.
    """
    baseline = predict(state, config, bucket)
    scale = robust_scale(state, baseline)
    score = (count - baseline) / scale if state.n else 0.0
    spike = (
        state.n >= config.warmup
        and count >= config.min_count
        and count >= config.ratio * max(baseline, 1.0)
        and score >= config.z_spike
    )
    return Analysis(
        count=count,
        baseline=baseline,
        scale=scale,
        score=score,
        spike=spike,
        trend=trend_of(state, config),
        forecast=forecast(state, config, horizon) if horizon else (),
    )


def replay(
    counts: Iterable[tuple[int, float]], config: RateConfig, state: RateState | None = None
) -> RateState:
    """Feed closed ``(bucket, count)`` pairs in order."""
    state = state or RateState()
    for bucket, count in counts:
        state = update(state, config, bucket, count)
    return state


def rebucket(windows: Mapping[str, int] | Mapping[int, int], config: RateConfig) -> list[tuple[int, float]]:
    """Fold ``{window_start_seconds: count}`` into sorted ``(bucket, count)`` pairs of the model's width."""
    out: dict[int, float] = {}
    for start, n in windows.items():
        b = bucket_of(float(start), config)
        out[b] = out.get(b, 0.0) + float(n)
    return sorted(out.items())


def seasonal_naive(history: Sequence[float], season: int, horizon: int = 1) -> float:
    """The benchmark forecast: the value one season before the predicted bucket."""
    index = len(history) - season + horizon - 1
    return float(history[index]) if 0 <= index < len(history) else float(history[-1] if history else 0.0)
