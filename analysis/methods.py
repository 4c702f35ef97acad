"""Statistical methods over one series: each returns a z-equivalent score and an expected value
per point (NaN where it cannot say), signed (positive: above what was expected).

Every method judges a point against a trailing window only (causal), except SEASONAL_ESD,
which is a batch review of a stored stretch. statsmodels is imported when a model is fitted,
never at import time, so the app starts without it loaded.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from aiops_desktop.models.anomalies import ANOMALY_MIN_POINTS
from aiops_desktop.models.enums import AnomalyMethod
from analysis.detectors.base import MAD_TO_SIGMA

IQR_TO_SIGMA = 1.349
SCORE_CAP = 100.0  # a change from a perfectly flat history is "very large", not infinite


@dataclass
class MethodResult:
    method: AnomalyMethod
    scores: np.ndarray  # signed z-equivalent per point
    expected: np.ndarray
    #: CONTEXT: the tail probability each judged value's score stands for, and how many
    #: robust spreads (MAD) of its trailing window it moved
    tails: np.ndarray | None = None
    spreads: np.ndarray | None = None


def window_points(ts: np.ndarray, seconds: float = 3600.0) -> int:
    """How many points make ``seconds`` at the median step of ``ts`` (at least
    ANOMALY_MIN_POINTS): give it the stretch before a point, never the whole series, or later
    samples change the point's window."""
    if ts.size < 2:
        return ANOMALY_MIN_POINTS
    step = float(np.median(np.diff(ts))) or 1.0
    return int(min(720, max(ANOMALY_MIN_POINTS, round(seconds / step))))


def trailing_starts(ts: np.ndarray, seconds: float = 3600.0) -> np.ndarray:
    """Where each point's trailing window begins: ``seconds`` back by its own time (at least
    ANOMALY_MIN_POINTS points, at most 720, where there are), so a later point never moves an
    earlier one's window (one size from the whole series' step, as before: a
    slower poll later changed an earlier point's expected value and severity)."""
    index = np.arange(ts.size)
    start = np.searchsorted(ts, ts - seconds, side="left")
    start = np.maximum(np.minimum(start, index - ANOMALY_MIN_POINTS), index - 720)
    return np.maximum(start, 0)


def _spread(history: np.ndarray) -> float:
    mad = float(np.median(np.abs(history - np.median(history)))) * MAD_TO_SIGMA
    if mad > 0:
        return mad
    return float(np.std(history))


def _ratio(delta: float, sigma: float) -> float:
    if sigma > 0:
        return max(-SCORE_CAP, min(SCORE_CAP, delta / sigma))
    return 0.0 if delta == 0 else math.copysign(SCORE_CAP, delta)


def _trailing(
    ts: np.ndarray, values: np.ndarray, judge: Callable[[np.ndarray, float], tuple[float, float]]
) -> tuple[np.ndarray, np.ndarray]:
    n = values.size
    scores = np.full(n, np.nan)
    expected = np.full(n, np.nan)
    starts = trailing_starts(ts)
    for i in range(ANOMALY_MIN_POINTS, n):
        history = values[starts[i] : i]
        history = history[np.isfinite(history)]
        if history.size < ANOMALY_MIN_POINTS or not math.isfinite(values[i]):
            continue
        scores[i], expected[i] = judge(history, float(values[i]))
    return scores, expected


def zscore(ts: np.ndarray, values: np.ndarray) -> MethodResult:
    def judge(h: np.ndarray, x: float) -> tuple[float, float]:
        mean = float(h.mean())
        return _ratio(x - mean, float(h.std())), mean

    return MethodResult(AnomalyMethod.ZSCORE, *_trailing(ts, values, judge))


def mad(ts: np.ndarray, values: np.ndarray) -> MethodResult:
    """Modified z-score: 0.6745 (x - median) / MAD."""

    def judge(h: np.ndarray, x: float) -> tuple[float, float]:
        median = float(np.median(h))
        return _ratio(x - median, _spread(h)), median

    return MethodResult(AnomalyMethod.MAD, *_trailing(ts, values, judge))


def iqr(ts: np.ndarray, values: np.ndarray) -> MethodResult:
    """Distance beyond the quartiles in IQR/1.349 units (Tukey's fences as a z-equivalent)."""

    def judge(h: np.ndarray, x: float) -> tuple[float, float]:
        q1, median, q3 = (float(q) for q in np.percentile(h, [25, 50, 75]))
        sigma = (q3 - q1) / IQR_TO_SIGMA
        if q1 <= x <= q3:
            return 0.0, median
        edge = q3 if x > q3 else q1
        return _ratio(x - edge, sigma) + math.copysign(0.6745, x - edge), median

    return MethodResult(AnomalyMethod.IQR, *_trailing(ts, values, judge))


def level_shift(ts: np.ndarray, values: np.ndarray) -> MethodResult:
    """The median of the last k points against the median and spread of the window before."""
    n = values.size
    scores = np.full(n, np.nan)
    expected = np.full(n, np.nan)
    starts = trailing_starts(ts)
    for i in range(ANOMALY_MIN_POINTS + 5, n):
        # sized by the poll step of the hour up to this point: a later, slower poll must not
        # resize (and rescore) an earlier point's window
        window = window_points(ts[starts[i] : i + 1])
        k = max(5, window // 12)
        if i < ANOMALY_MIN_POINTS + k:
            continue
        recent = values[i - k + 1 : i + 1]
        before = values[max(0, i - k + 1 - window) : i - k + 1]
        if before.size < ANOMALY_MIN_POINTS:
            continue
        level = float(np.median(before))
        # a shift, not a spike: every recent point must lie on the new side
        delta = float(np.median(recent)) - level
        if np.all(np.sign(recent - level) == np.sign(delta)):
            scores[i] = _ratio(delta, _spread(before))
        else:
            scores[i] = 0.0
        expected[i] = level
    return MethodResult(AnomalyMethod.LEVEL_SHIFT, scores, expected)


def seasonal_periods(ts: np.ndarray, points: int) -> list[int]:
    """Periods (in points) of the daily and hourly cycles that ``points`` holds twice over."""
    if ts.size < 2:
        return []
    step = float(np.median(np.diff(ts))) or 1.0
    periods = []
    for seconds in (86400.0, 3600.0):
        p = round(seconds / step)
        if p >= 4 and 2 * p <= points:
            periods.append(p)
    return periods


@contextmanager
def _quiet() -> Iterator[None]:
    """statsmodels warns about convergence on short, flat or noisy stretches: that is data."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _block_seconds(ts_before: np.ndarray) -> float:
    """An hour, or the power of two times it that holds ANOMALY_MIN_POINTS to 720 points at
    the poll step seen so far (a slow poll gets longer blocks, a fast one shorter: what a fit
    costs); powers of two so a jittered step keeps one grid."""
    step = float(np.median(np.diff(ts_before[-721:]))) if ts_before.size >= 2 else 0.0
    step = step if step > 0 else 1.0
    seconds = 3600.0
    while seconds < ANOMALY_MIN_POINTS * step:
        seconds *= 2
    while seconds > 720 * step:
        seconds /= 2
    return seconds


def _blocks(ts: np.ndarray, values: np.ndarray) -> Iterator[tuple[int, int, int]]:
    """(block start, block end, history start): a model is fitted on the four blocks' time
    before each block (at least 4 * ANOMALY_MIN_POINTS points, at most 2880) and judges that
    block. Blocks end on a grid of whole blocks from the epoch, and each block's length and
    history come from the points before it, so a later sample never moves an earlier block
    (blocks sized by the whole series' step and started at n // 2 rescored earlier points)."""
    n = values.size
    block_start = 2 * ANOMALY_MIN_POINTS
    while block_start < n:
        seconds = _block_seconds(ts[:block_start])
        grid_end = (math.floor(ts[block_start] / seconds) + 1) * seconds
        block_end = max(block_start + 1, int(np.searchsorted(ts, grid_end, side="left")))
        block_end = min(n, block_end)
        begin = int(np.searchsorted(ts, ts[block_start] - 4 * seconds, side="left"))
        begin = max(0, block_start - 2880, min(begin, block_start - 4 * ANOMALY_MIN_POINTS))
        history = values[begin:block_start]
        if history.size >= 2 * ANOMALY_MIN_POINTS and np.all(np.isfinite(history)):
            yield block_start, block_end, begin
        block_start = block_end


def _blocked_model(
    method: AnomalyMethod,
    ts: np.ndarray,
    values: np.ndarray,
    fit: Callable[[np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray]],
) -> MethodResult:
    """Refit on the trailing history of each block (its times, its values, the block's
    length), judge the block against the forecast."""
    scores = np.full(values.size, np.nan)
    expected = np.full(values.size, np.nan)
    for block_start, block_end, begin in _blocks(ts, values):
        history = values[begin:block_start]
        predicted, residuals = fit(ts[begin:block_start], history, block_end - block_start)
        sigma = _spread(residuals[np.isfinite(residuals)])
        for j, i in enumerate(range(block_start, block_end)):
            expected[i] = predicted[j]
            scores[i] = _ratio(float(values[i] - predicted[j]), sigma)
    return MethodResult(method, scores, expected)


def ets(ts: np.ndarray, values: np.ndarray) -> MethodResult:
    """Forecast bands from exponential smoothing (Holt, damped additive trend): the parameters
    are fitted on the trailing window, then each point is judged against its one-step-ahead
    forecast and the level and trend are carried on with the actual value. Seasonality is the
    STL method's job."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    scores = np.full(values.size, np.nan)
    expected = np.full(values.size, np.nan)
    for block_start, block_end, begin in _blocks(ts, values):
        history = values[begin:block_start]
        with _quiet():
            fitted = ExponentialSmoothing(
                history, trend="add", damped_trend=True, initialization_method="estimated"
            ).fit()
        p = fitted.params
        alpha, beta, phi = p["smoothing_level"], p["smoothing_trend"], p["damping_trend"]
        level, trend = float(fitted.level[-1]), float(fitted.trend[-1])
        sigma = _spread(np.asarray(fitted.resid))
        for i in range(block_start, block_end):
            forecast = level + phi * trend
            x = float(values[i])
            if not math.isfinite(x):
                continue
            expected[i] = forecast
            scores[i] = _ratio(x - forecast, sigma)
            new_level = alpha * x + (1 - alpha) * forecast
            trend = beta * (new_level - level) + (1 - beta) * phi * trend
            level = new_level
    return MethodResult(AnomalyMethod.ETS, scores, expected)


MAX_POINTS_PER_CYCLE = 48  # longer cycles are fitted on bucket means: same shape, far faster


def decompose(history: np.ndarray, periods: list[int]) -> tuple[np.ndarray, np.ndarray, int]:
    """(trend, seasonal, period) of ``history`` at full resolution, fitted on bucket means so a
    cycle has at most MAX_POINTS_PER_CYCLE points (STL, or MSTL with two cycles)."""
    factor = max(1, math.ceil(max(periods) / MAX_POINTS_PER_CYCLE))
    usable = history.size - history.size % factor
    head = history.size - usable
    buckets = history[head:].reshape(-1, factor).mean(axis=1)
    cycles = sorted(
        {max(2, round(p / factor)) for p in periods if round(p / factor) * 2 <= buckets.size}
    )
    with _quiet():
        if len(cycles) >= 2:
            from statsmodels.tsa.seasonal import MSTL

            result = MSTL(buckets, periods=cycles).fit()
            seasonal = np.asarray(result.seasonal).sum(axis=1)
        else:
            from statsmodels.tsa.seasonal import STL

            result = STL(buckets, period=cycles[0] if cycles else 2, robust=True).fit()
            seasonal = np.asarray(result.seasonal)
    trend = np.repeat(np.asarray(result.trend), factor)
    seasonal = np.repeat(seasonal, factor)
    if head:
        trend = np.concatenate([np.full(head, trend[0]), trend])
        seasonal = np.concatenate([seasonal[-head - max(periods) :][:head], seasonal])
    return trend, seasonal, max(cycles, default=2) * factor


def stl(ts: np.ndarray, values: np.ndarray) -> MethodResult:
    """Seasonal decomposition of the trailing window (STL, or MSTL with two cycles); the
    expected value is the last trend plus the season carried forward one cycle."""

    def fit(
        history_ts: np.ndarray, history: np.ndarray, horizon: int
    ) -> tuple[np.ndarray, np.ndarray]:
        periods = seasonal_periods(history_ts, history.size)  # the step it was polled at
        if not periods:
            median = float(np.median(history))
            return np.full(horizon, median), history - median
        trend, seasonal, period = decompose(history, periods)
        # the season carried forward is the median of each phase over the cycles held, so an
        # anomaly one cycle ago does not come back as an "expected" value (an echo)
        cycles = max(1, history.size // period)
        detrended = (history - trend)[-cycles * period :].reshape(cycles, period)
        profile = np.median(detrended, axis=0)
        forecast = trend[-1] + np.resize(profile, horizon)
        return forecast, history - trend - seasonal

    return _blocked_model(AnomalyMethod.STL, ts, values, fit)


def seasonal_esd(ts: np.ndarray, values: np.ndarray, *, alpha: float = 0.05) -> MethodResult:
    """Batch review (Twitter's S-H-ESD): generalised ESD on the seasonal residual of the whole
    stretch; flagged points get their test statistic as score, the others 0."""
    from scipy import stats

    periods = seasonal_periods(ts, values.size)
    if periods:
        trend, seasonal, _ = decompose(values, periods)
        baseline = trend + seasonal
    else:
        baseline = np.full(values.size, float(np.median(values)))
    residual = values - baseline
    n = residual.size
    scores = np.zeros(n)
    remaining = np.arange(n)
    max_outliers = max(1, n // 50)
    found: list[tuple[int, float]] = []
    last_significant = 0
    for k in range(1, max_outliers + 1):
        r = residual[remaining]
        median = float(np.median(r))
        sigma = _spread(r)
        if sigma <= 0:
            break
        deviations = np.abs(r - median) / sigma
        j = int(np.argmax(deviations))
        statistic = float(deviations[j])
        m = n - k + 1
        t = float(stats.t.ppf(1 - alpha / (2 * m), m - 2))
        critical = (m - 1) * t / math.sqrt((m - 2 + t * t) * m)
        found.append((int(remaining[j]), statistic))
        if statistic > critical:
            last_significant = k
        remaining = np.delete(remaining, j)
    for index, statistic in found[:last_significant]:
        scores[index] = math.copysign(statistic, residual[index] - np.median(residual))
    return MethodResult(AnomalyMethod.SEASONAL_ESD, scores, baseline)


METHODS: dict[AnomalyMethod, Callable[[np.ndarray, np.ndarray], MethodResult]] = {
    AnomalyMethod.ZSCORE: zscore,
    AnomalyMethod.MAD: mad,
    AnomalyMethod.IQR: iqr,
    AnomalyMethod.LEVEL_SHIFT: level_shift,
    AnomalyMethod.ETS: ets,
    AnomalyMethod.STL: stl,
    AnomalyMethod.MSTL: stl,
    AnomalyMethod.SEASONAL_ESD: seasonal_esd,
}
