"""The detector contract: causal (the future never changes a past score), batch = streaming."""

from __future__ import annotations

import numpy as np

from analysis.detectors import RobustLikelihoodDetector, run_batch


def series(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = 50 + 10 * np.sin(np.arange(n) / 20) + rng.normal(0, 1, n)
    values[400:410] += 40  # a burst
    return values


def test_appending_future_samples_never_changes_past_scores() -> None:
    values = series(600)
    ts = np.arange(values.size, dtype=float)
    short = run_batch(RobustLikelihoodDetector(), ts[:450], values[:450])
    longer = run_batch(RobustLikelihoodDetector(), ts, values)
    assert np.array_equal(short, longer[:450])


def test_batch_equals_streaming_and_scores_are_bounded() -> None:
    values = series(600, seed=2)
    ts = np.arange(values.size, dtype=float)
    detector = RobustLikelihoodDetector()
    streamed = np.array([detector.update(t, v) for t, v in zip(ts, values, strict=True)])
    assert np.array_equal(streamed, run_batch(RobustLikelihoodDetector(), ts, values))
    assert streamed.min() >= 0 and streamed.max() <= 1


def test_the_burst_scores_higher_than_quiet_stretches() -> None:
    values = series(600, seed=3)
    scores = run_batch(RobustLikelihoodDetector(), np.arange(values.size, dtype=float), values)
    burst, quiet = scores[400:412].max(), scores[200:390]
    assert burst > 5 * np.percentile(quiet, 90)
    assert burst > 3 * quiet.max()
