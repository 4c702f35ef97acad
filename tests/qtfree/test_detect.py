"""Anomalies of one series: methods, sensitivity, episodes, types, domain rules, identity."""

from __future__ import annotations

import numpy as np
import pytest

from aiops_desktop.models.enums import AnomalyMethod, AnomalySeverity, AnomalyType, Sensitivity
from analysis.detect import SeriesInput, detect_all, detect_anomalies, forget_streams
from analysis.detectors.live import StreamScorers, severity_of_tail, tail_of
from analysis.signals import SignalType, classify

STEP = 15.0


def noisy(n: int = 2880, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = 1_700_000_000 + np.arange(n) * STEP
    return ts, 50 + rng.normal(0, 1, n)


def series(metric: str, ts: np.ndarray, values: np.ndarray) -> SeriesInput:
    return SeriesInput("east-1", metric, {"node": "worker-1"}, ts, values)


@pytest.mark.parametrize(
    ("metric", "kind"),
    [
        ("openshift_ptp_offset_ns", SignalType.PTP_OFFSET),
        ("openshift_ptp_clock_state", SignalType.PTP_CLOCK_STATE),
        ("DCGM_FI_DEV_GPU_TEMP", SignalType.TEMPERATURE),
        ("DCGM_FI_DEV_XID_ERRORS", SignalType.GPU_EVENT),
        ("sum by (cluster) (rate(container_cpu_usage_seconds_total[5m]))", SignalType.COUNTER_RATE),
        ("histogram_quantile(0.99, apiserver_request_duration_seconds_bucket)", SignalType.LATENCY),
        ("DCGM_FI_DEV_GPU_UTIL", SignalType.PERCENT),
        ("node_memory_MemAvailable_bytes", SignalType.GAUGE),
        # temperatures by their name's words, not a substring of another word
        ("node_hwmon_temp_celsius", SignalType.TEMPERATURE),
        ("max by (cluster, Hostname, gpu) (DCGM_FI_DEV_GPU_TEMP)", SignalType.TEMPERATURE),
        ("DCGM_FI_DEV_MEMORY_TEMP", SignalType.TEMPERATURE),
        ("gpu_temperature", SignalType.TEMPERATURE),
        ("rate(tempo_distributor_spans_received_total[1m])", SignalType.COUNTER_RATE),
        ("sum(rate(grpc_client_attempts_total[5m]))", SignalType.COUNTER_RATE),
        ("sum by (gpu) (rate(gpu_job_attempts_total[5m]))", SignalType.COUNTER_RATE),
        ("prometheus_template_text_expansions_total", SignalType.COUNTER_RATE),
    ],
)
def test_signal_type_by_name(metric: str, kind: SignalType) -> None:
    assert classify(metric) is kind


def test_unit_overrides_the_name() -> None:
    assert classify("whatever", unit="%") is SignalType.PERCENT


#: the methods that were the live path before the benchmarked detector (still on demand)
CLASSIC = (AnomalyMethod.MAD, AnomalyMethod.IQR, AnomalyMethod.LEVEL_SHIFT, AnomalyMethod.ETS,
           AnomalyMethod.STL)  # fmt: skip


def test_plain_noise_raises_nothing_above_low_at_the_default_sensitivity() -> None:
    """The benchmarked detector reports a value never seen before, and plain noise makes a
    new extreme now and then: new, but a few spreads out, so LOW at most."""
    ts, values = noisy()
    found = detect_anomalies(series("some_gauge", ts, values))
    assert len(found) <= 2 and all(a.severity is AnomalySeverity.LOW for a in found)
    assert all(a.method is AnomalyMethod.CONTEXT for a in found)


def test_a_spike_is_found_by_the_benchmarked_detector_with_its_values_and_reason() -> None:
    ts, values = noisy()
    values[2000:2003] += 30
    found = [a for a in detect_anomalies(series("some_gauge", ts, values))
             if abs(a.timestamp.timestamp() - ts[2000]) <= 3 * STEP]  # fmt: skip
    assert len(found) == 1
    a = found[0]
    assert a.method is AnomalyMethod.CONTEXT and a.type is AnomalyType.SPIKE
    assert a.severity is AnomalySeverity.HIGH  # +60 %, thirty spreads: as rare as it gets
    assert a.actual == pytest.approx(80, abs=4)
    assert a.expected == pytest.approx(50, abs=2)
    assert a.deviation_pct == pytest.approx(60, abs=10)
    assert "context novelty" in a.explanation and "tail probability" in a.explanation
    assert a.threshold == Sensitivity.MEDIUM.threshold and a.score >= a.threshold
    assert 0 < a.confidence <= 1


def test_a_level_shift_is_found_where_it_starts() -> None:
    ts, values = noisy(seed=2)
    values[2200:] += 8
    found = detect_anomalies(series("some_gauge", ts, values))
    assert any(abs(a.started_at.timestamp() - ts[2200]) <= 3 * STEP for a in found)


def test_the_classic_methods_tell_a_drop_from_a_level_shift() -> None:
    ts, values = noisy(seed=2)
    values[1000:1002] -= 30
    values[2200:] += 8
    found = detect_anomalies(series("some_gauge", ts, values), methods=CLASSIC)
    kinds = {a.type for a in found}
    assert AnomalyType.DROP in kinds
    assert any(
        a.type is AnomalyType.TREND_CHANGE and abs(a.started_at.timestamp() - ts[2200]) < 40 * STEP
        for a in found
    )


def test_higher_sensitivity_finds_at_least_as_much() -> None:
    ts, values = noisy(seed=3)
    values[1500:1503] += 4.5  # about 4.5 sigma: LOW keeps quiet only if no method reaches 2x
    for methods in (None, CLASSIC):
        counts = [
            len(detect_anomalies(series("some_gauge", ts, values), sensitivity=s,
                                 methods=methods))
            for s in (Sensitivity.LOW, Sensitivity.MEDIUM, Sensitivity.HIGH, Sensitivity.EXTREME)
        ]  # fmt: skip
        assert counts == sorted(counts) and counts[-1] >= 1
        if methods is CLASSIC:
            assert counts[-1] > counts[0]


def test_the_same_episode_keeps_its_identity_when_more_data_arrives() -> None:
    ts, values = noisy(seed=4)
    values[2000:2003] += 30
    for methods in (None, CLASSIC):
        first = detect_anomalies(series("some_gauge", ts[:2200], values[:2200]), methods=methods)
        again = detect_anomalies(series("some_gauge", ts, values), methods=methods)
        assert first and [a.identity for a in first] == [a.identity for a in again][: len(first)]


def test_ptp_rules_offset_band_faulty_port_and_clock_state() -> None:
    ts = 1_700_000_000 + np.arange(60) * 1.0
    offsets = np.full(60, 12.0)
    offsets[30:33] = [150, -240, 160]
    offsets[50] = 999999
    found = detect_anomalies(series("openshift_ptp_offset_ns", ts, offsets))
    rules = [a for a in found if a.method is AnomalyMethod.DOMAIN_RULE]
    assert [a.type for a in rules] == [AnomalyType.THRESHOLD_BREACH] * 2
    assert "-240 ns beyond +/-100 ns" in rules[0].explanation
    assert "faulty" in rules[1].explanation and rules[1].severity is AnomalySeverity.HIGH
    states = np.array([1.0] * 20 + [2.0] * 5 + [0.0] * 5 + [1.0] * 10)
    found = detect_anomalies(series("openshift_ptp_clock_state", ts[:40], states))
    assert len(found) == 1  # HOLDOVER then FREERUN: one episode, reported at its worst
    assert "FREERUN" in found[0].explanation and found[0].expected == 1.0


def test_gpu_rules_temperature_limits_and_xid() -> None:
    ts = 1_700_000_000 + np.arange(40) * 5.0
    temps = np.full(40, 60.0)
    temps[10:12] = 74
    temps[30:32] = 85
    found = detect_anomalies(series("DCGM_FI_DEV_GPU_TEMP", ts, temps))
    ruled = [a for a in found if a.method is AnomalyMethod.DOMAIN_RULE]
    # 74 C is past the warning limit: HIGH (above any warm GPU inside it); 85 C is CRITICAL
    assert [a.severity for a in ruled] == [AnomalySeverity.HIGH, AnomalySeverity.CRITICAL]
    xid = np.zeros(40)
    xid[25:] = 79
    found = detect_anomalies(series("DCGM_FI_DEV_XID_ERRORS", ts, xid))
    assert len(found) == 1 and "XID 79" in found[0].explanation
    assert found[0].severity is AnomalySeverity.CRITICAL
    # a gauge still holding an old code is no new XID at the start of every window looked at
    # (each analysis made a new CRITICAL of it, dated its window's first sample)
    for start in (0, 30):
        assert (
            detect_anomalies(series("DCGM_FI_DEV_XID_ERRORS", ts[start:], xid[start:] * 0 + 79))
            == []
        )


def test_severity_follows_the_size_of_the_change_and_open_episodes_are_marked() -> None:
    """A +2 % CPU change of a very quiet series is new (its tail alone would say HIGH) but
    LOW; a FREERUN clock is CRITICAL by rule; an episode running into the last sample is open
    (not ended there)."""
    rng = np.random.default_rng(3)
    ts = 1_700_000_000 + np.arange(3000) * 15.0
    cpu = 50 + rng.normal(0, 0.05, 3000)
    cpu[-3:] += 1.0  # +2 %: many sigmas of a very quiet series
    found = detect_anomalies(series("node_cpu", ts, cpu))
    last = [a for a in found if a.timestamp.timestamp() >= ts[-3]]
    assert last and all(a.severity is AnomalySeverity.LOW for a in found)
    assert severity_of_tail(tail_of(1.0)) is AnomalySeverity.HIGH  # what the tail alone says
    classic = detect_anomalies(series("node_cpu", ts[-300:], cpu[-300:]), methods=CLASSIC)
    assert classic[-1].open and "still open at the end of the data" in classic[-1].explanation
    assert all(a.severity is AnomalySeverity.LOW for a in classic)
    state = np.ones(60)
    state[40:50] = 0.0  # FREERUN for 10 samples, then LOCKED again
    clock = detect_anomalies(series("openshift_ptp_clock_state", ts[:60], state))
    assert [(a.severity, a.open) for a in clock] == [(AnomalySeverity.CRITICAL, False)]


@pytest.mark.parametrize(
    ("metric", "unit", "reason"),
    [
        ("openshift_ptp_clock_state", None, "PTP clock FREERUN"),
        ("gpu_temperature", "C", "GPU at 92 C, critical"),
    ],
)
@pytest.mark.parametrize("stream", [None, "owner-short"])
def test_domain_rules_judge_a_series_too_short_for_statistics(
    metric: str, unit: str | None, reason: str, stream: str | None
) -> None:
    """20 samples (5 min at 15 s: the chat tool's shortest lookback): the detector needs 30,
    a rule none; detect_all (the worker, the live path, the CLI, the chat tool) applies the
    rule as detect_anomalies does."""
    ts = 1_700_000_000 + np.arange(20) * STEP
    values = (
        np.r_[np.ones(10), np.zeros(10)] if metric.startswith("openshift") else np.full(20, 92.0)
    )
    one = series(metric, ts, values)
    try:
        found = detect_all([one], Sensitivity.MEDIUM, None, unit, stream)
        # an empty or short gauge is still no answer, not an error
        empty = series("some_gauge", ts[:0], values[:0])
        short = series("some_gauge", ts, 50 + np.arange(20.0))
        assert detect_all([empty, short], Sensitivity.MEDIUM, None, None, stream) == []
    finally:
        forget_streams("owner-short")
    assert [a.severity for a in found] == [AnomalySeverity.CRITICAL]
    assert found[0].explanation.startswith(reason)
    assert [a.identity for a in found] == [a.identity for a in detect_anomalies(one, unit=unit)]


def test_a_counter_named_like_a_gpu_is_no_gpu_temperature() -> None:
    """Only the GPU's temperature gets its 70/80 C limits: a rate of GPU job attempts at 85/s
    (its query groups by gpu; or given in C), a GPU's memory or a host sensor named gpu at
    85 C are no "GPU at 85 C"; DCGM's GPU temperature and its panel still are."""
    ts = 1_700_000_000 + np.arange(40) * STEP
    hot = np.full(40, 85.0)
    for metric, unit in (
        ("sum by (gpu) (rate(gpu_job_attempts_total[5m]))", None),
        ("sum by (gpu) (rate(gpu_job_attempts_total[5m]))", "C"),
        ("max by (gpu) (DCGM_FI_DEV_MEMORY_TEMP)", None),
        ('node_hwmon_temp_celsius{sensor="gpu"}', None),
    ):
        found = detect_anomalies(series(metric, ts, hot), unit=unit)
        assert not [a for a in found if a.method is AnomalyMethod.DOMAIN_RULE], metric
    for metric in ("DCGM_FI_DEV_GPU_TEMP", "max by (gpu) (DCGM_FI_DEV_GPU_TEMP)",
                   "gpu_temperature"):  # fmt: skip
        [hit] = detect_anomalies(series(metric, ts, hot))
        assert hit.severity is AnomalySeverity.CRITICAL and "GPU at 85 C" in hit.explanation


def test_too_few_points_is_no_answer_not_an_error() -> None:
    ts, values = noisy(n=20)
    assert detect_anomalies(series("some_gauge", ts, values)) == []


def test_a_live_novelty_at_the_last_sample_is_a_moment_not_an_open_episode() -> None:
    """The live detector judges a sample once: a novelty on the newest sample is never judged
    again, so nothing would ever say it ended. It is not open (an open anomaly keeps its
    incident alive); a rule breach, judged again each round, is."""
    rng = np.random.default_rng(8)
    ts = 1_700_000_000 + np.arange(3000) * 15.0
    cpu = 50 + rng.normal(0, 1, 3000)
    cpu[-1] = 95.0  # a spike on the newest sample
    streams = StreamScorers()
    found = detect_anomalies(series("node_cpu", ts, cpu), streams=streams)
    spike = [a for a in found if a.timestamp.timestamp() == ts[-1]]
    assert spike and spike[0].method is AnomalyMethod.CONTEXT
    assert not spike[0].open and "still open" not in spike[0].explanation
    batch = [a for a in detect_anomalies(series("node_cpu", ts, cpu))
             if a.timestamp.timestamp() == ts[-1]]  # fmt: skip
    assert batch and batch[0].open  # a one-off analysis: the end of its data
    state = np.ones(60)
    state[50:] = 0.0
    clock = detect_anomalies(series("openshift_ptp_clock_state", ts[:60], state), streams=streams)
    assert [a.open for a in clock] == [True]


def test_a_live_rule_breach_keeps_its_identity_as_the_polled_window_moves() -> None:
    """A clock in FREERUN for longer than the polled window: each round the rule judges the
    window again, and once the breach reaches back to its first sample its start is that
    sample's. It must stay the breach's own start (its identity), not a new anomaly each
    round; when the clock locks again the same anomaly ends."""
    streams = StreamScorers()
    ts = 1_700_000_000 + np.arange(200) * 15.0
    state = np.ones(200)
    state[20:150] = 0.0  # FREERUN from sample 20 to 149
    seen = []
    for end in range(40, 200, 5):  # a window of the last 40 samples, 5 new each round
        window = slice(end - 40, end)
        found = detect_anomalies(series("openshift_ptp_clock_state", ts[window], state[window]),
                                 streams=streams)  # fmt: skip
        seen += [(a.identity, a.open) for a in found]
    assert {identity for identity, _ in seen} == {seen[0][0]}  # one breach, one identity
    assert seen[0][0].endswith(f"|{ts[20]:.0f}")
    assert seen[-1][1] is False and any(is_open for _, is_open in seen)


def test_an_episode_with_a_rule_breach_is_described_by_the_rule() -> None:
    """A 60 ns offset (new for the series) then 125 ns for 9 points: one episode, whose peak
    is the rule's breach ("beyond +/-100 ns"), not the detector's larger-scaled 60 ns (which
    showed a value inside the limit and a severity of its own)."""
    rng = np.random.default_rng(1)
    ts = 1_700_000_000 + np.arange(1500) * 15.0
    offsets = rng.normal(0, 5, 1500).round()
    offsets[1400] = 60
    offsets[1401:1410] = 125
    found = detect_anomalies(series("ptp_offset", ts, offsets))
    episode = next(a for a in found if a.started_at and a.started_at.timestamp() == ts[1400])
    assert episode.method is AnomalyMethod.DOMAIN_RULE
    assert episode.explanation.startswith("PTP offset +125 ns beyond +/-100 ns")


def test_later_samples_never_change_what_is_said_of_earlier_ones() -> None:
    """The same 2,000 samples at 15 s, then later ones at a 60 s poll: each earlier episode
    is said as it was (its expected value, severity, explanation). The reference window
    was sized from the whole series' median step, so the later, slower samples moved it."""
    rng = np.random.default_rng(0)
    ts = 1_700_000_000 + np.arange(2000) * 15.0
    values = 40 + rng.normal(0, 1, 2000)
    values[1200:1205] += 12
    values[1600:1603] -= 9
    later_ts = ts[-1] + 60.0 * np.arange(1, 3001)
    later = 40 + rng.normal(0, 1, 3000)
    alone = detect_anomalies(series("node_cpu", ts, values))
    more = detect_anomalies(series("node_cpu", np.r_[ts, later_ts], np.r_[values, later]))
    end = ts[-1] - 600

    def said(found: list) -> list:  # type: ignore[type-arg]
        return [(a.timestamp, a.severity, a.expected, a.explanation) for a in found
                if a.timestamp.timestamp() < end]  # fmt: skip

    assert said(alone) and said(alone) == said(more)


def test_a_dip_of_a_latency_neither_reports_nor_hides_the_rise_after_it() -> None:
    """A p99 at 0.1 s dips to 0.02 s for 30 s, then sits at 2 s for 7 minutes: the rise is
    HIGH. The dip, new for the series, used to be judged by the detector (then dropped: only
    a rise counts for a latency) and silenced it for its next 100 samples: nothing at all
    was said of the 2 s. For a latency the detector's upper-only variant runs."""
    rng = np.random.default_rng(4)
    ts = 1_700_000_000 + np.arange(2000) * 15.0
    p99 = 0.1 + rng.normal(0, 0.005, 2000)
    p99[1796:1798] = 0.02
    p99[1800:1828] = 2.0
    found = detect_anomalies(SeriesInput("east", "apiserver_p99", {}, ts, p99), unit="s")
    rise = [a for a in found if a.actual == 2.0]
    assert len(rise) == 1 and rise[0].severity is AnomalySeverity.HIGH
    assert all(a.actual > 0.05 for a in found)  # the dip is no anomaly of a latency


def test_each_method_judges_no_point_before_its_lead_and_one_right_after() -> None:
    """``LEAD_POINTS``: what a caller reads before the window it asks about, so the window
    is judged (a one-off analysis of 720 points judged nothing: the detector learns from a
    series' first 750). Checked against every method's own scores, at a 1 s step (level
    shift's longest recent run)."""
    from analysis.detect import LEAD_POINTS, lead_points
    from analysis.detectors.live import PROBATION, score_series
    from analysis.methods import METHODS

    rng = np.random.default_rng(7)
    for method, lead in LEAD_POINTS.items():
        if method in (AnomalyMethod.DOMAIN_RULE, AnomalyMethod.SEASONAL_ESD):
            assert lead == 0
            continue
        n = lead + 1
        ts = 1.7e9 + np.arange(n, dtype=float)
        values = 10 + rng.normal(0, 1, n)
        if method is AnomalyMethod.CONTEXT:
            assert lead == PROBATION
            late = values.copy()
            late[lead] = 1e6  # the first judged sample
            early = values.copy()
            early[lead - 1] = 1e6
            assert score_series(ts, late)[lead] > 0 and score_series(ts, early)[lead - 1] == 0
            continue
        scores = METHODS[method](ts, values).scores
        assert not np.isfinite(scores[:lead]).any(), method
        assert np.isfinite(scores[lead]), method
    assert lead_points([AnomalyMethod.MAD, AnomalyMethod.DOMAIN_RULE]) == (
        LEAD_POINTS[AnomalyMethod.MAD],
        LEAD_POINTS[AnomalyMethod.MAD],
    )
    assert lead_points([AnomalyMethod.MAD, AnomalyMethod.CONTEXT]) == (
        LEAD_POINTS[AnomalyMethod.MAD],
        PROBATION,
    )
    assert lead_points([AnomalyMethod.DOMAIN_RULE]) == (0, 0)
