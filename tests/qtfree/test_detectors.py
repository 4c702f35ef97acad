"""The detector contract: causal (the future never changes a past score), batch = streaming."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.detectors import ContextNoveltyDetector, RobustLikelihoodDetector, run_batch
from analysis.detectors.live import DETECTION_SCORE

DETECTORS = [ContextNoveltyDetector, RobustLikelihoodDetector]


def series(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = 50 + 10 * np.sin(np.arange(n) / 20) + rng.normal(0, 1, n)
    values[400:410] += 40  # a burst
    return values


@pytest.mark.parametrize("factory", DETECTORS)
def test_appending_future_samples_never_changes_past_scores(factory) -> None:
    values = series(600)
    ts = np.arange(values.size, dtype=float)
    short = run_batch(factory(), ts[:450], values[:450])
    longer = run_batch(factory(), ts, values)
    assert np.array_equal(short, longer[:450])


@pytest.mark.parametrize("factory", DETECTORS)
def test_batch_equals_streaming_and_scores_are_bounded(factory) -> None:
    values = series(600, seed=2)
    ts = np.arange(values.size, dtype=float)
    detector = factory()
    streamed = np.array([detector.update(t, v) for t, v in zip(ts, values, strict=True)])
    assert np.array_equal(streamed, run_batch(factory(), ts, values))
    assert streamed.min() >= 0 and streamed.max() <= 1


@pytest.mark.parametrize("factory", DETECTORS)
def test_the_burst_scores_higher_than_quiet_stretches(factory) -> None:
    values = series(600, seed=3)
    scores = run_batch(factory(), np.arange(values.size, dtype=float), values)
    burst, quiet = scores[400:412].max(), scores[250:390]
    assert burst > 5 * np.percentile(quiet, 90)
    assert burst > 3 * quiet.max()


def test_context_novelty_flags_a_break_in_a_learned_pattern() -> None:
    """A square wave learned for days, then a day at half height: every value is in range."""
    ts = np.arange(0, 10 * 86400, 300, dtype=float)
    values = np.where((ts % 86400) < 43200, 80.0, 20.0) + np.random.default_rng(4).normal(
        0, 1, ts.size
    )
    broken = (ts >= 8 * 86400) & (ts < 9 * 86400) & ((ts % 86400) < 43200)
    values[broken] = 50.0
    scores = run_batch(ContextNoveltyDetector(), ts, values)
    first = int(np.argmax(broken))
    assert scores[first : first + 12].max() > 0.5
    assert scores[2000:first].max() < scores[first : first + 12].max()


def test_context_novelty_flags_a_missing_daily_rise() -> None:
    """Every value and every short sequence of the broken day was seen before (it stays at the
    night level): only the time of day makes it anomalous."""
    ts = np.arange(0, 10 * 86400, 300, dtype=float)
    noise = np.random.default_rng(5).normal(0, 1, ts.size)
    values = np.where((ts % 86400) < 43200, 80.0, 20.0) + noise
    broken = (ts >= 8 * 86400) & (ts < 9 * 86400) & ((ts % 86400) < 43200)
    values[broken] = 20.0 + noise[broken]
    scores = run_batch(ContextNoveltyDetector(), ts, values)
    first = int(np.argmax(broken))
    during = scores[first : first + 144].max()
    assert during > 0.5
    assert scores[2000:first].max() < during


def test_the_daily_channel_wakes_without_a_false_detection() -> None:
    """Each hour holds a level of its own, drawn again every day: on the second day every
    hour's level is rare at that hour. The daily channel wakes once an hour has been seen
    ``daily_min`` times; fed zeros until then, its likelihood put the first rare hours at
    the top (a detection at sample 444 for every seed). Nothing here is anomalous: the
    values, their steps and their hourly rarity are all the series' own from day one."""
    ts = np.arange(0, 4 * 86400, 300, dtype=float)
    for seed in range(4):
        rng = np.random.default_rng(seed)
        levels = rng.choice([10.0, 30.0, 50.0, 70.0, 90.0], size=4 * 24)
        levels[:2] = 10.0, 90.0  # the range is known from the first hours: nothing spatial
        values = levels[(ts // 3600).astype(int)] + rng.normal(0, 0.5, ts.size)
        scores = run_batch(ContextNoveltyDetector(), ts, values)
        assert scores.max() < DETECTION_SCORE, seed


@pytest.mark.parametrize("gap", [50, 99])
def test_a_new_extreme_after_the_silence_is_reported_though_one_came_before(gap: int) -> None:
    """Nothing beats a new extreme's 1.0: a harmless new low of noise (reported) had hidden a
    CPU saturation starting within the next ``onset`` samples (100) for its whole 75 min."""
    values = 10 + np.clip(np.random.default_rng(4).normal(0, 1, 1700), -2.5, 2.5)
    values[5:7] = 7.5, 12.5  # the noise's range, seen from the start
    values[1100] = 7.0  # a new low by a hair: reported, then ``quiet`` (20) silent samples
    values[1100 + gap : 1100 + gap + 300] = 95.0
    scores = run_batch(ContextNoveltyDetector(), np.arange(values.size) * 15.0, values)
    assert scores[1100] >= DETECTION_SCORE
    assert scores[1100 + gap] >= DETECTION_SCORE, "the saturation was never reported"
    # within the silence after a detection, a new extreme is still silent (one episode)
    within = values.copy()
    within[1110:1115] = 95.0
    assert run_batch(ContextNoveltyDetector(), np.arange(within.size) * 15.0, within)[1110] == 0


def test_a_series_that_keeps_growing_is_reported_once_per_doubling_of_its_range() -> None:
    """A new extreme every sample (1 % growth a sample for 700 samples): reported once each
    time the range seen at the last detection is left by its span again (about log2 of the
    growth), not once every ``quiet`` samples (33 times)."""
    values = 10 + np.clip(np.random.default_rng(5).normal(0, 1, 1500), -2, 2)
    values[800:] = 12 * np.exp(0.01 * np.arange(700))
    scores = run_batch(ContextNoveltyDetector(), np.arange(values.size) * 15.0, values)
    reported = np.flatnonzero(scores[800:] >= DETECTION_SCORE)
    assert 1 <= reported.size <= 14, reported.tolist()
