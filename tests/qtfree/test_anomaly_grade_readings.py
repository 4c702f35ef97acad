"""A detector episode is graded by the furthest its samples went (a ramp): only by samples
that are readings. Prometheus' +Inf (histogram_quantile's p99 past its largest bucket) made
the anomaly's value one JSON cannot hold (stored as null: the row was skipped as damaged),
and a DCGM series' blank (2**47) made a +14 % move HIGH."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.detect import SeriesInput, detect_anomalies
from analysis.rules import DCGM_FP64_BLANK

STEP = 15.0


def _series(metric: str, not_a_reading: float) -> SeriesInput:
    """A power of 300 W (+-3) for 650 minutes, then +40 W (+13 %), a sample that is no
    reading 5 samples into the move."""
    ts = 1_700_000_000 + STEP * np.arange(3000)
    values = 300 + np.random.default_rng(9).normal(0, 3, 3000)
    values[2600:] += 40
    values[2605] = not_a_reading
    return SeriesInput("east", metric, {"gpu": "0"}, ts, values)


@pytest.mark.parametrize(
    ("metric", "not_a_reading"),
    [
        ("DCGM_FI_DEV_POWER_USAGE", 9223372036854775794.0),
        ("DCGM_FI_DEV_POWER_USAGE", float(DCGM_FP64_BLANK)),
        ("apiserver_p99", math.inf),
    ],
)
def test_a_sample_that_is_no_reading_never_grades_an_episode(
    metric: str, not_a_reading: float
) -> None:
    series = _series(metric, not_a_reading)
    found = [a for a in detect_anomalies(series)
             if series.ts[2600] <= a.timestamp.timestamp() <= series.ts[2630]]  # fmt: skip
    assert found, "the +13 % move is found"
    for anomaly in found:
        assert math.isfinite(anomaly.actual) and anomaly.actual < 1_000, anomaly
        anomaly.model_validate_json(anomaly.model_dump_json())  # stored and read back
