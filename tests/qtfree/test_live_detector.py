"""The detector the app runs is the one `make bench-nab` scores: causal (a future sample never
changes a past score), the same in batch and in a stream fed in pieces, its severity from its
tail probability (a small move is not HIGH; a rule breach is CRITICAL), and what the live
service calls."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from aiops_desktop.models.enums import AnomalyMethod, AnomalySeverity
from aiops_desktop.services.core import Core
from aiops_desktop.services.intelligence.anomalies import _warm_up_s
from analysis.detect import SeriesInput, detect_anomalies
from analysis.detectors import live
from analysis.detectors.context import _Features
from analysis.detectors.live import (
    DETECTION_SCORE,
    PROBATION,
    StreamScorers,
    score_series,
    severity_of_tail,
    tail_of,
)
from tests.benchmarks import bench_nab


def _series(n: int = 3000, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = 1_700_000_000 + np.arange(n) * 15.0
    values = 20 + 5 * np.sin(np.arange(n) / 40) + rng.normal(0, 0.5, n)
    values[2400:2410] += 60
    return ts, values


def test_a_future_sample_never_changes_a_past_score() -> None:
    ts, values = _series()
    whole = score_series(ts, values)
    for cut in (900, 1700, 2405):
        future = values.copy()
        future[cut:] = 1e6  # whatever comes next
        assert np.array_equal(score_series(ts, future)[:cut], whole[:cut])
    assert whole[2400:2410].max() >= DETECTION_SCORE  # and the episode is seen


def test_a_stream_fed_in_pieces_says_what_the_batch_says() -> None:
    ts, values = _series()
    values[1234] = np.nan  # a gap is skipped alike
    batch = score_series(ts, values)
    streams = StreamScorers()
    pieces = np.full(ts.size, np.nan)
    for start in range(0, ts.size, 97):
        end = min(ts.size, start + 97 + 240)  # each call sees a buffer overlapping the last
        got = streams.scores("k", ts[start:end], values[start:end])
        fresh = np.isfinite(got)
        pieces[start:end][fresh] = got[fresh]
    judged = np.isfinite(batch)
    assert np.array_equal(pieces[judged], batch[judged])
    assert not np.isfinite(pieces[1234]) and not np.any(batch[:PROBATION])


def test_severity_comes_from_the_tail_and_the_size_of_the_move() -> None:
    assert severity_of_tail(tail_of(DETECTION_SCORE)) is AnomalySeverity.LOW
    assert severity_of_tail(tail_of(1.0)) is AnomalySeverity.HIGH
    ts, values = _series()
    small = values.copy()
    small[2400:2410] = small[2400:2410] - 60 + 1.6  # new, but a few spreads at most
    found = detect_anomalies(SeriesInput("c", "some_gauge", {}, ts, small))
    assert all(a.severity is not AnomalySeverity.HIGH for a in found)
    big = detect_anomalies(SeriesInput("c", "some_gauge", {}, ts, values))
    assert any(a.severity is AnomalySeverity.HIGH for a in big)
    hot = np.full(60, 60.0)
    hot[40:] = 92.0  # past the GPU's 80 C limit: CRITICAL by rule, whatever the score
    ruled = detect_anomalies(SeriesInput("c", "DCGM_FI_DEV_GPU_TEMP", {}, ts[:60], hot))
    assert [a.severity for a in ruled] == [AnomalySeverity.CRITICAL]


def test_the_benchmark_scores_the_live_path() -> None:
    assert bench_nab.DETECTORS["aiops"] is bench_nab.AppDetector
    ts, values = _series()
    app = bench_nab.AppDetector()
    fed = [app.update(t, v) for t, v in zip(ts, values, strict=True)]
    assert np.array_equal(np.array(fed), score_series(ts, values))


@pytest.mark.asyncio
async def test_the_live_service_runs_the_benchmarked_detector_once_per_sample(core: Core) -> None:
    ts, values = _series()
    core.live.append("east", "node_cpu", {"instance": "n1"}, ts[:2300], values[:2300])
    await core.anomalies.analyse_live(force=True)
    before = core.anomalies.for_panel("east", "node_cpu")
    core.live.append("east", "node_cpu", {"instance": "n1"}, ts[2300:], values[2300:])
    new = await core.anomalies.analyse_live(force=True)
    shown = core.anomalies.for_panel("east", "node_cpu")
    assert new >= 1 and all(a.method is AnomalyMethod.CONTEXT for a in shown)
    spike = [a for a in shown if abs(a.timestamp.timestamp() - ts[2400]) <= 45]
    assert len(spike) == 1 and spike[0].severity is AnomalySeverity.HIGH
    assert {a.identity for a in before} <= {a.identity for a in shown}
    again = await core.anomalies.analyse_live(force=True)  # nothing new arrived: nothing new
    assert again == 0 and core.anomalies.for_panel("east", "node_cpu") == shown
    await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_a_new_series_learns_from_stored_history_not_only_its_buffer(core: Core) -> None:
    """The live buffer holds 720 samples, fewer than the detector's probation: a series the
    app starts following learns from the store's history before its buffer, so a spike in its
    first buffer is reported at once."""
    from aiops_desktop.store.series import SeriesBatch

    ts, values = _series()
    ms = (ts[:2000] * 1000).astype(np.int64)
    stored = SeriesBatch("east", "node_cpu", {"instance": "n1"}, ms, values[:2000])
    await asyncio.wrap_future(core.series.append([stored]))
    await asyncio.wrap_future(core.series.flush())
    core.live.append("east", "node_cpu", {"instance": "n1"}, ts[2000:2700], values[2000:2700])
    assert len(core.series.read("node_cpu", cluster="east")[0].values) == 2000
    await core.anomalies.analyse_live(force=True)
    shown = core.anomalies.for_panel("east", "node_cpu")
    assert any(abs(a.timestamp.timestamp() - ts[2400]) <= 45 for a in shown), shown


@pytest.mark.asyncio
async def test_when_detection_moves_the_series_learn_again_from_history(core: Core) -> None:
    """The worker's detectors live where detection runs; when it moves (its process broke),
    the service forgets which series were followed, so each learns again from the store."""
    ts, values = _series()
    core.live.append("east", "node_cpu", {"instance": "n1"}, ts[:2300], values[:2300])
    await core.anomalies.analyse_live(force=True)
    assert core.anomalies._streamed
    core.anomalies._worker.generation += 1  # as a fallback to a thread does
    forgotten: list[str] = []
    real = core.anomalies.forget_live

    async def spy() -> None:
        forgotten.append("yes")
        await real()

    core.anomalies.forget_live = spy  # type: ignore[method-assign]
    core.live.append("east", "node_cpu", {"instance": "n1"}, ts[2300:], values[2300:])
    await core.anomalies.analyse_live(force=True)
    assert forgotten == ["yes"] and core.anomalies._streamed  # followed again, afresh


def test_values_past_what_floats_hold_are_judged_without_breaking_the_series() -> None:
    """A few denormals (a span that divides to 0), a range wider than any float, an infinite
    time: none raises, and the series' detector is kept for what comes next."""
    ts = 1_700_000_000 + np.arange(400) * 15.0
    streams = StreamScorers()
    for key, values in (("denormal", np.tile([0.0, 5e-324], 200)),
                        ("wide", np.tile([1e308, -1e308], 200))):  # fmt: skip
        got = streams.scores(key, ts, values)
        assert np.isfinite(got).sum() == 400 and np.all(got >= 0)
    stamps = ts.copy()
    stamps[5] = np.inf
    got = streams.scores("time", stamps, np.ones(400))
    assert not np.isfinite(got[5]) and np.isfinite(got).sum() == 399  # the rest is judged
    assert len(streams) == 3


def test_a_time_is_judged_once_even_out_of_order_or_repeated() -> None:
    streams = StreamScorers()
    first = streams.scores("k", np.array([1.0, 3.0, 2.0]), np.array([1.0, 1.0, 1.0]))
    assert np.isfinite(first).tolist() == [True, True, False]  # 2 came after 3: not judged
    again = streams.scores("k", np.array([1.0, 3.0, 2.0, 4.0]), np.ones(4))
    assert np.isfinite(again).tolist() == [False, False, False, True]
    twice = StreamScorers().scores("k", np.array([1.0, 2.0, 2.0, 3.0]), np.ones(4))
    assert np.isfinite(twice).tolist() == [True, True, False, True]  # as a stream would


def test_a_full_set_of_followed_series_makes_room_only_for_a_stale_one() -> None:
    """New series beyond MAX_SERIES never push out series still fed (which would make every
    series learn again each round and none ever report): they wait for one to go stale."""
    now = [0.0]
    streams = StreamScorers(2, clock=lambda: now[0])
    one = (np.array([1.0]), np.array([1.0]))
    assert np.isfinite(streams.scores("a", *one)).all()
    assert np.isfinite(streams.scores("b", *one)).all()
    now[0] = live.STALE_S - 1
    assert not np.isfinite(streams.scores("c", *one)).any() and streams.declined == 1
    assert np.isfinite(streams.scores("a", np.array([2.0]), np.array([1.0]))).all()  # kept
    now[0] = live.STALE_S + 1  # b not fed for STALE_S (a was, just now): b gives way
    assert np.isfinite(streams.scores("c", *one)).all()
    assert np.isfinite(streams.scores("a", np.array([3.0]), np.array([1.0]))).all()
    assert len(streams) == 2


def test_a_series_offered_only_its_old_samples_goes_stale() -> None:
    """A pod gone (a rollout renamed it) keeps its last samples in the polled window for a
    while, offered every round: it is not fed, so it goes stale and gives way to the new
    pod's series (it used to count as fed at every offer, and the new series were never
    judged)."""
    now = [0.0]
    streams = StreamScorers(1, clock=lambda: now[0])
    gone = (np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    streams.scores("old pod", *gone)
    for minute in range(1, 70):  # offered again each round, nothing new in it
        now[0] = minute * 60.0
        assert not np.isfinite(streams.scores("old pod", *gone)).any()
        new = streams.scores("new pod", np.array([now[0]]), np.array([1.0]))
        assert np.isfinite(new).all() == (now[0] - 0.0 >= live.STALE_S), minute
        if np.isfinite(new).all():
            break
    assert len(streams) == 1 and 0 < streams.declined < 61


def test_sequence_features_are_bounded_by_two_generations() -> None:
    features = _Features()
    generation, most = _Features.GENERATION, 2 * _Features.GENERATION + _Features.MERGE_AT

    def learn(first: int, count: int) -> int:  # a sample's dozen features at a time
        new = 0
        for at in range(first, first + count, 12):
            new += features.learn(list(range(at, min(at + 12, first + count))))
            assert len(features) <= most
        return new

    assert learn(0, generation + 600) == generation + 600
    assert features.learn([5]) == 0  # the previous generation is still known (and carried)
    assert learn(10**9, generation) == generation
    assert features.learn([5]) == 0  # carried into the generation since: still known
    assert features.learn([7]) == 1  # not seen for two generations: novel again
    assert learn(2 * 10**9, 3 * generation) == 3 * generation


def test_a_slow_cluster_learns_from_enough_history_for_the_probation() -> None:
    every = lambda step: [np.arange(0, 720 * step, step, dtype=float)]  # noqa: E731
    assert _warm_up_s(every(15)) == 6 * 3600  # 1,440 samples: past the probation
    assert _warm_up_s(every(120)) == pytest.approx(PROBATION * 120 * 1.1)  # 27.5 h
    assert _warm_up_s(every(600)) == 48 * 3600  # at most two days
    assert _warm_up_s([np.array([5.0])]) == 6 * 3600


@pytest.mark.asyncio
async def test_a_failed_live_round_does_not_end_live_detection(
    core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    rounds: list[int] = []

    async def flaky(*, force: bool = False) -> int:
        rounds.append(1)
        if len(rounds) == 1:
            raise OSError("database is locked")
        return 0

    core.anomalies.analyse_live = flaky  # type: ignore[method-assign]
    task = asyncio.create_task(core.anomalies.run_live(interval_s=0.0))
    while len(rounds) < 3:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert "a live detection round failed" in caplog.text


@pytest.mark.asyncio
async def test_the_followed_series_are_what_is_polled_now(core: Core) -> None:
    """Pods come and go over a long session: the series the service marks as followed are
    the ones its last round saw (with samples), not every series ever polled."""
    ts, values = _series(40)
    gone, new = (("pod", "web-1"),), (("pod", "web-2"),)
    empty = (np.empty(0), np.empty(0))
    await core.anomalies._with_history("east", "node_cpu", {gone: (ts, values)})
    await core.anomalies._with_history("east", "node_cpu", {new: (ts, values), gone: empty})
    assert core.anomalies._streamed[("east", "node_cpu")] == {new}


@pytest.mark.asyncio
async def test_a_panel_that_fails_leaves_the_others_judged(
    core: Core, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A panel whose store read fails (a damaged chunk) is said and skipped: the panels after
    it are still judged (every panel after it went unjudged, every round, with no word)."""
    ts, values = _series()
    for panel in ("gpu_util", "node_cpu"):
        core.live.append("east", panel, {"instance": "n1"}, ts[:2300], values[:2300])
    real = core.series.read

    def damaged(metric: str, **kw):  # type: ignore[no-untyped-def]
        if metric == "gpu_util":
            raise ValueError("chunk data does not match its header")
        return real(metric, **kw)

    monkeypatch.setattr(core.series, "read", damaged)
    await core.anomalies.analyse_live(force=True)
    for panel in ("gpu_util", "node_cpu"):
        core.live.append("east", panel, {"instance": "n1"}, ts[2300:], values[2300:])
    found = await core.anomalies.analyse_live(force=True)
    assert found >= 1 and core.anomalies.for_panel("east", "node_cpu")
    assert core.anomalies.failed == {
        ("east", "gpu_util"): "ValueError: chunk data does not match its header"}  # fmt: skip
    assert "live detection of gpu_util on east failed" in caplog.text
    assert all(a.metric != "gpu_util" for a in core.anomalies.still_open())  # not known
    monkeypatch.setattr(core.series, "read", real)
    core.live.append("east", "gpu_util", {"instance": "n1"}, ts[-1:] + 15, values[-1:])
    await core.anomalies.analyse_live(force=True)
    assert core.anomalies.failed == {}  # said only while it fails


@pytest.mark.asyncio
async def test_an_episode_of_a_series_that_stopped_reporting_ends(core: Core) -> None:
    """n1's clock goes to HOLDOVER, then its exporter goes away while n2 goes on LOCKED: its
    episode is over as far as anyone can tell (it stayed open, and kept its incident alive,
    for as long as the app ran); a panel not analysed lately is not known to go on either."""
    from aiops_desktop.models.anomalies import AnomalyFilter
    from aiops_desktop.services.intelligence import anomalies as service

    ts = 1_700_000_000 + np.arange(120) * 15.0
    core.live.append(
        "east", "ptp_clock_state", {"node": "n1"}, ts[:60], np.r_[np.ones(50), 2 * np.ones(10)]
    )
    core.live.append("east", "ptp_clock_state", {"node": "n2"}, ts[:60], np.ones(60))
    await core.anomalies.analyse_live(force=True)
    assert [a.labels["node"] for a in core.anomalies.still_open()] == ["n1"]
    core.live.append("east", "ptp_clock_state", {"node": "n2"}, ts[60:], np.ones(60))  # n1 gone
    await core.anomalies.analyse_live(force=True)
    assert core.anomalies.still_open() == []
    stored = await core.anomalies.stored(AnomalyFilter(clusters=("east",)))
    assert [(a.labels["node"], a.open) for a in stored] == [("n1", False)]

    core.live.append("east", "ptp_clock_state", {"node": "n2"}, ts[-1:] + 15, np.zeros(1))
    await core.anomalies.analyse_live(force=True)
    assert [a.labels["node"] for a in core.anomalies.still_open()] == ["n2"]
    key = ("east", "ptp_clock_state")
    version, _ = core.anomalies._analysed[key]  # analysed long ago: not known to go on
    core.anomalies._analysed[key] = (version, -service.STILL_OPEN_WITHIN_S - 1.0)
    assert core.anomalies.still_open() == []


@pytest.mark.parametrize("bad", [2.0**47, 1e6])
def test_one_bad_sample_does_not_blind_a_series_for_good(bad: float) -> None:
    """A gauge at 60 +/- 1 moves +25 at sample 8,000. One bad scrape at sample 1,500 (2**47
    is a DCGM blank) widened its range for good: every later value fell in one bin and the
    move was never reported. Once the bad value has left the kept history the range is
    drawn again over what is kept, and the move is reported."""
    rng = np.random.default_rng(2)
    ts = 1_700_000_000 + np.arange(9000) * 15.0
    values = 60 + rng.normal(0, 1, 9000)
    values[8000:8100] += 25
    values[1500] = bad
    reported = np.flatnonzero(np.nan_to_num(score_series(ts, values)) >= DETECTION_SCORE)
    assert 8000 in reported


@pytest.mark.asyncio
async def test_a_panel_whose_detection_fails_has_no_episode_going_on(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """n1's clock is in HOLDOVER (an open episode); then its panel's detection fails: what it
    last found is not known to go on any more (it kept its incident open while it failed)."""
    ts = 1_700_000_000 + np.arange(60) * 15.0
    state = np.r_[np.ones(50), 2 * np.ones(10)]
    core.live.append("east", "ptp_clock_state", {"node": "n1"}, ts, state)
    await core.anomalies.analyse_live(force=True)
    assert [a.labels["node"] for a in core.anomalies.still_open()] == ["n1"]

    async def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ValueError("the worker broke")

    monkeypatch.setattr(core.anomalies, "analyse", broken)
    core.live.append("east", "ptp_clock_state", {"node": "n1"}, ts[-1:] + 15, np.full(1, 2.0))
    await core.anomalies.analyse_live(force=True)
    assert ("east", "ptp_clock_state") in core.anomalies.failed
    assert core.anomalies.still_open() == []
