"""Past ``MOST_CURVES`` series, an infinite value is the furthest from the crowd there is (a
p99 past the histogram's largest bucket is +Inf: the worst latency), drawn before any
ordinary series; only a series with no value at all (NaN) ranks last."""

from __future__ import annotations

import numpy as np

from aiops_desktop.models.curves import MOST_CURVES, outlying_curves

TS = 1.7e9 + 30.0 * np.arange(120)


def crowd() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {f"pod-{i:03d}": (TS, np.full(TS.size, 0.1 + 0.001 * i)) for i in range(150)}


def test_a_series_at_plus_or_minus_inf_is_drawn_and_one_of_nan_is_not() -> None:
    series = crowd()
    worst = np.full(TS.size, 0.175)  # the crowd's median, but for 15 minutes
    worst[60:90] = np.inf  # past the largest bucket
    series["pod-worst"] = (TS, worst)
    series["pod-always-inf"] = (TS, np.full(TS.size, np.inf))
    series["pod-minus-inf"] = (TS, np.full(TS.size, -np.inf))
    series["pod-blank"] = (TS, np.full(TS.size, np.nan))
    kept = outlying_curves(series)
    assert len(kept) == MOST_CURVES
    assert {"pod-worst", "pod-always-inf", "pod-minus-inf"} <= set(kept)
    assert "pod-blank" not in kept
    assert "pod-075" not in kept  # the crowd's middle is what is left out
