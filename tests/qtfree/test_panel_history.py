"""A long range thinned for a chart: at most MOST_POINTS, each the mean of its bucket, a gap
the poller marked (NaN) kept as a gap, a short series left as it is."""

from __future__ import annotations

import numpy as np

from aiops_desktop.services.polling.history import thinned


def test_a_long_series_is_thinned_to_bucket_means_and_keeps_its_gaps() -> None:
    ts = np.arange(0, 40_000, 1.0)  # 100 buckets of 400 s
    values = np.where(ts < 20_000, 1.0, 3.0)
    values[30_000:30_400] = np.nan  # the cluster did not answer for one whole bucket
    values[10_100:10_200] = np.nan  # nor for 100 s inside another
    xs, ys = thinned(ts, values, most=100)
    assert len(xs) == 100 and np.all(np.diff(xs) > 0)
    assert list(np.flatnonzero(np.isnan(ys))) == [75]  # the whole bucket stays a gap
    assert ys[25] == 1.0 and ys[0] == 1.0 and ys[-1] == 3.0  # the partial gap: the rest's mean
    assert ys[49] == 1.0 and ys[50] == 3.0


def test_a_short_series_is_left_as_it_is() -> None:
    ts, values = np.arange(10.0), np.arange(10.0)
    xs, ys = thinned(ts, values, most=100)
    assert xs is ts and ys is values
