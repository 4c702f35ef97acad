"""The classic methods judge a point by what came before it only: scoring a prefix of a series
gives its points the same scores and expected values as scoring the whole series (later samples
never rescore earlier points; SEASONAL_ESD, a batch review, is the one exception)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from analysis.methods import MethodResult, ets, iqr, level_shift, mad, stl, zscore

CAUSAL: dict[str, Callable[[np.ndarray, np.ndarray], MethodResult]] = {
    "ZSCORE": zscore,
    "MAD": mad,
    "IQR": iqr,
    "LEVEL_SHIFT": level_shift,
    "ETS": ets,
    "STL": stl,  # MSTL too: the same function
}
SHIFT_AT = 1100


def shifted_series(steps: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Noise around 50 with a level shift of 6 sigma at SHIFT_AT; the poll steps constant 15 s,
    jittered around 15 s, or 15 s that slows to 60 s after 700 points (most of the
    series is then the slower stretch)."""
    rng = np.random.default_rng(seed)
    n = 1600
    if steps == "constant":
        gaps = np.full(n - 1, 15.0)
    elif steps == "jittered":
        gaps = 15.0 + rng.uniform(-4, 4, n - 1)
    else:
        gaps = np.where(np.arange(n - 1) < 700, 15.0, 60.0)
    ts = 1_700_000_123.0 + np.concatenate([[0.0], np.cumsum(gaps)])
    values = 50 + rng.normal(0, 1, n)
    values[SHIFT_AT : SHIFT_AT + 40] += 6
    return ts, values


@pytest.mark.slow  # ETS refits per block, five series per case
@pytest.mark.parametrize("steps", ["constant", "jittered", "slower later"])
@pytest.mark.parametrize("name", list(CAUSAL))
def test_a_prefix_scores_its_points_as_the_whole_series_does(name: str, steps: str) -> None:
    method = CAUSAL[name]
    ts, values = shifted_series(steps, seed=len(name) + len(steps))
    whole = method(ts, values)
    for k in (400, 777, 1123, 1301):
        cut = method(ts[:k], values[:k])
        np.testing.assert_array_equal(cut.scores, whole.scores[:k], err_msg=f"{name} at {k}")
        np.testing.assert_array_equal(cut.expected, whole.expected[:k], err_msg=f"{name} at {k}")
        # the comparison is not NaN against NaN: each method judged most of the prefix
        assert np.isfinite(cut.scores).sum() > k // 3, f"{name} scored too little of {k}"
    # and the shift is seen in the prefix that ends inside it, as in the whole series
    early = method(ts[:1123], values[:1123]).scores
    assert np.nanmax(early[SHIFT_AT:]) >= 2.5, name
