"""Capacity: the trend of a utilisation signal and where it is heading (statsmodels OLS on
hourly means, with its 95 % prediction band), and when it would cross a limit. A trend is
claimed only from days of history sampled on each of them (hours of a daily cycle's rising
half would read as one, and so would a morning's low and an afternoon's peak days later),
and looks ahead only a few times the history it is fitted on. Where the signal is now is
what was measured last (the line at the last hour lags a step: memory at 95 % for a day of a
week at 20 % is no "58 % now"); when it reaches the limit is counted from a level that does
not swing with the hour (``_days_to``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOUR_S = 3600.0
MIN_HOURS = 24  # fewer hourly means than this: no trend claimed (a day's worth at least)
#: less history than this (from the first hourly mean to the last), or hourly means on fewer
#: days than this (counted from the first): no trend claimed; a daily cycle read over a day
#: or less is its rising or falling half, and read on a few days its lows and peaks, not a trend
MIN_HISTORY_DAYS = 3.0
#: the last hourly means whose mean is the signal's level over its last day: a daily cycle's
#: whole, its peak and its low alike
DAY_HOURS = 24
#: the furthest a trend looks ahead: this many times its history, and never past
#: ``horizon_days`` (a line fitted on 3 days says little of the month after)
HORIZON_TIMES = 4.0


@dataclass
class Forecast:
    slope_per_day: float  # units a day
    last: float  # the last hourly mean (measured; the fitted line lags a step)
    #: hourly (timestamps s, mean, lower 95 %, upper 95 %) ahead of the data
    ahead: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    days_to_limit: float | None  # None: not heading there within the horizon (or falling)
    horizon_days: float = 30.0  # how far ahead it looks (its history's ``HORIZON_TIMES``)


def hourly_means(ts: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean of each hour's finite values (a gap, NaN, and +/-Inf, which Prometheus gives
    for a division by zero, are left out: one would make the hour's mean, and the trend,
    NaN or infinite)."""
    keep = np.isfinite(values) & np.isfinite(ts)
    ts, values = ts[keep], values[keep]
    if ts.size == 0:
        return ts, values
    hours = np.floor(ts / HOUR_S)
    unique, index = np.unique(hours, return_inverse=True)
    sums = np.bincount(index, weights=values)
    counts = np.bincount(index)
    return unique * HOUR_S + HOUR_S / 2, sums / counts


@dataclass
class Trend:
    """A series' straight trend alone (no band): what ranks a panel's series by when each
    reaches the limit, cheaply, before the one that does first is forecast in full."""

    slope_per_day: float
    last: float
    days_to_limit: float | None
    horizon_days: float = 30.0


def history_days(ts: np.ndarray, values: np.ndarray) -> float:
    """How many days of history a series' hourly means span (each mean stands for its hour:
    3 days of samples span 3 days)."""
    hx, _ = hourly_means(np.asarray(ts, dtype=float), np.asarray(values, dtype=float))
    return _span_days(hx)


def _span_days(hx: np.ndarray) -> float:
    return float(hx[-1] - hx[0] + HOUR_S) / 86400.0 if hx.size else 0.0


def _horizon(hx: np.ndarray, horizon_days: float) -> float | None:
    """How far ahead a trend of these hourly means may look; None: no trend is claimed (too
    few of them, too short a history, or on too few of its days)."""
    span = _span_days(hx)
    if hx.size < MIN_HOURS or span < MIN_HISTORY_DAYS:
        return None
    if np.unique(np.floor((hx - hx[0]) / 86400.0)).size < MIN_HISTORY_DAYS:
        return None
    return min(horizon_days, HORIZON_TIMES * span)


def _crossing(level: float, slope: float, limit: float, horizon_days: float) -> float | None:
    """In how many days a straight trend at ``level`` reaches ``limit`` (0: it is there);
    None: not within the horizon."""
    if level >= limit:
        return 0.0
    if slope > 0:
        days = (limit - level) / slope
        return days if days <= horizon_days else None
    return None


def _days_to(
    hy: np.ndarray, fitted: float, slope: float, limit: float, horizon_days: float
) -> float | None:
    """In how many days the signal reaches ``limit`` (0: it is there), counted from levels
    that do not swing with the hour: the line fitted at the last hour (where the charted
    forecast starts), and the mean of its last ``DAY_HOURS`` hourly means. The last hourly
    mean of a daily cycle is past the limit at its peak and far below it at night (the one
    series said "now" at 15:00, "not within 28 days" at 03:00); the line alone lags a step
    (memory at 95 % for a day of a week at 20 % is there, not "58 %, in 3 days"). Past the
    limit for half of the last day's hourly means is there too, whatever their mean (95 % for
    the last 12 h after a week at 20 % read "in 7.8 days"); a day holds every hour of a daily
    cycle, so that count is the same at its peak and at night."""
    last_day = hy[-DAY_HOURS:]
    if float(np.mean(last_day)) >= limit or 2 * int(np.sum(last_day >= limit)) >= last_day.size:
        return 0.0
    return _crossing(fitted, slope, limit, horizon_days)


def trend(
    ts: np.ndarray, values: np.ndarray, *, limit: float, horizon_days: float = 30.0
) -> Trend | None:
    """The slope of the hourly means' least-squares line (the one ``forecast`` fits, without
    its prediction band), the last hourly mean, and when the signal reaches ``limit``
    (``_days_to``); None with too little history (``_horizon``). It looks ahead
    ``HORIZON_TIMES`` its history, ``horizon_days`` at most."""
    hx, hy = hourly_means(np.asarray(ts, dtype=float), np.asarray(values, dtype=float))
    ahead = _horizon(hx, horizon_days)
    if ahead is None:
        return None
    days = (hx - hx[0]) / 86400.0
    slope, intercept = (float(v) for v in np.polyfit(days, hy, 1))
    fitted = intercept + slope * float(days[-1])
    return Trend(slope, float(hy[-1]), _days_to(hy, fitted, slope, limit, ahead), ahead)


def forecast(
    ts: np.ndarray,
    values: np.ndarray,
    *,
    limit: float,
    horizon_days: float = 30.0,
    bounds: tuple[float, float] | None = None,
) -> Forecast | None:
    """The trend's line and band ahead, its slope, the last hourly mean, and when the signal
    reaches ``limit`` (``_days_to``; 0: it is there). None where there is too little history for a
    trend (``_horizon``); it looks ahead ``HORIZON_TIMES`` its history, ``horizon_days`` at
    most. ``bounds``: the values the signal can take (a percentage: 0 to 100); the line
    ahead and its band stay inside them (a straight trend does not know a disk cannot be
    130 % full)."""
    hx, hy = hourly_means(np.asarray(ts, dtype=float), np.asarray(values, dtype=float))
    ahead_days = _horizon(hx, horizon_days)
    if ahead_days is None:
        return None
    import statsmodels.api as sm  # heavy (scipy, pandas): only where a trend is fitted

    days = (hx - hx[0]) / 86400.0
    fit = sm.OLS(hy, sm.add_constant(days)).fit()
    step = HOUR_S / 86400.0
    future = np.arange(days[-1] + step, days[-1] + ahead_days + step / 2, step)
    frame = fit.get_prediction(sm.add_constant(future, has_constant="add")).summary_frame(
        alpha=0.05
    )
    slope = float(fit.params[1])
    fitted = float(fit.params[0] + slope * days[-1])
    crossing = _days_to(hy, fitted, slope, limit, ahead_days)
    level = float(hy[-1])
    stamps = hx[0] + future * 86400.0
    ahead = [frame[c].to_numpy() for c in ("mean", "obs_ci_lower", "obs_ci_upper")]
    if bounds is not None:
        ahead = [np.clip(a, *bounds) for a in ahead]
        level = float(np.clip(level, *bounds))
    return Forecast(
        slope_per_day=slope,
        last=level,
        ahead=(stamps, ahead[0], ahead[1], ahead[2]),
        days_to_limit=crossing,
        horizon_days=ahead_days,
    )
