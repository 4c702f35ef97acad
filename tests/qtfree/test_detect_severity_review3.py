"""The benchmarked detector's severity is bounded by how far a value moved: in events for a
sparse count or rate (the same errors graded the same per minute and per second), and in
percentage points for a percentage (however small its level before)."""

from __future__ import annotations

import numpy as np
import pytest

from aiops_desktop.models.enums import AnomalySeverity
from analysis.detect import SeriesInput, _spread, detect_anomalies
from analysis.detectors.live import StreamScorers

T0 = 1_700_000_000.0


def _stray_errors(scale: float) -> tuple[np.ndarray, np.ndarray]:
    """A pod's errors per minute (``scale`` 1) or per second (1/60): a stray error now and
    then, and two in one minute at point 1900."""
    rng = np.random.default_rng(3)
    n = 2000
    ts = T0 + np.arange(n) * 60.0
    values = (rng.random(n) < 0.02).astype(float) * scale
    values[1900] = 2 * scale
    return ts, values


def test_the_same_errors_grade_the_same_per_minute_and_per_second() -> None:
    """Tempo's rate() is errors per second (a count / 60): two errors in a minute against a
    stray one now and then is LOW per minute, and was HIGH per second (its spread a tiny
    fraction, with no floor of one event's worth)."""
    grades = {}
    for metric, unit, scale in (("error_log_lines", "errors/min", 1.0),
                                ("error_spans", "errors/s", 1 / 60)):  # fmt: skip
        ts, values = _stray_errors(scale)
        found = detect_anomalies(SeriesInput("east", metric, {"pod": "x"}, ts, values), unit=unit)
        grades[unit] = [a.severity for a in found if a.timestamp.timestamp() == ts[1900]]
    assert grades["errors/min"] == [AnomalySeverity.LOW]
    assert grades["errors/s"] == grades["errors/min"]


def test_a_real_burst_of_errors_per_second_is_still_high() -> None:
    ts, values = _stray_errors(1 / 60)
    values[1900] = 40 / 60
    found = detect_anomalies(SeriesInput("east", "error_spans", {"pod": "x"}, ts, values),
                             unit="errors/s")  # fmt: skip
    assert [a.severity for a in found if a.timestamp.timestamp() == ts[1900]] == [
        AnomalySeverity.HIGH
    ]


@pytest.mark.parametrize(
    ("history", "spread"),
    [
        ([0.0] * 40 + [1.0, 2.0], 1.0),  # a count: one event is 1
        ([0.0] * 40 + [1 / 60, 2 / 60], 1 / 60),  # a per-second rate of whole events
        ([0.0] * 40 + [2 / 60, 4 / 60], 2 / 60),  # the smallest step it took
        ([0.0] * 42, 1.0),  # all 0: as a count
        ([3.5] * 42, 0.0),  # one fractional value throughout: no step known
        ([0.0] * 40 + [76.0], 1.0),  # one earlier burst: its size is no step (at most 1)
    ],
)
def test_a_spread_is_no_less_than_one_events_worth(history: list[float], spread: float) -> None:
    got = _spread(np.array(history))
    assert got >= spread - 1e-12
    assert got == pytest.approx(max(float(np.std(history)), spread))


def _cpu(base: float, jump: float) -> list[AnomalySeverity]:
    """A node's CPU steady at ``base`` % that moves ``jump`` points for ten samples, as the
    live path judges it (a kept detector over a sliding window)."""
    rng = np.random.default_rng(1)
    n = 1200
    ts = T0 + np.arange(n) * 15.0
    values = base + rng.normal(0, 0.02, n)
    values[1000:1010] = base + jump
    streams = StreamScorers()
    found = []
    for end in range(800, n + 1, 4):
        w = slice(max(0, end - 720), end)
        series = SeriesInput("c", "node_cpu", {"i": "n1"}, ts[w], values[w])
        found += detect_anomalies(series, unit="percent", streams=streams)
    return [a.severity for a in found if a.actual is not None and a.actual > base + jump / 2]


@pytest.mark.parametrize(
    ("base", "jump", "grade"),
    [
        (0.5, 1.5, AnomalySeverity.LOW),  # was HIGH: +301 %
        (0.5, 3.5, AnomalySeverity.LOW),  # was HIGH: +698 %
        (50.0, 3.5, AnomalySeverity.LOW),  # was MEDIUM: +7 %
        (0.5, 10.0, AnomalySeverity.MEDIUM),
        (50.0, 10.0, AnomalySeverity.MEDIUM),
        (0.5, 40.0, AnomalySeverity.HIGH),
    ],
)
def test_a_percentage_moves_in_points_from_any_level(
    base: float, jump: float, grade: AnomalySeverity
) -> None:
    """From 0.5 % a 1.5-point move was +301 % and HIGH, while 0 -> 2 % was LOW and
    50 -> 53.5 % MEDIUM: the same move in points is graded the same from any level."""
    assert _cpu(base, jump) == [grade]


def test_a_burst_after_an_earlier_one_in_the_hour_is_still_high() -> None:
    """An hour of 0 and one burst of 76: the spread's floor was the whole burst (its only
    step), and the next, bigger burst read LOW (review of cf07fb1)."""
    rng = np.random.default_rng(177)  # the review's case: bursts of 76, then of 122
    n = 1600
    ts = T0 + np.arange(n) * 60.0
    values = np.zeros(n)
    for _ in range(rng.integers(2, 8)):
        at = rng.integers(800, n)
        values[at : at + rng.integers(1, 4)] = rng.integers(5, 200)
    assert values[1188] == 76.0 and values[1231] == 122.0
    found = detect_anomalies(SeriesInput("east", "error_log_lines", {"pod": "x"}, ts, values),
                             unit="errors/min")  # fmt: skip
    late = [a.severity for a in found if a.timestamp.timestamp() >= ts[1231]]
    assert late and late[0] is AnomalySeverity.HIGH


def test_a_fraction_guessed_a_percentage_is_graded_by_its_relative_move() -> None:
    """kube-prometheus' instance:node_cpu_utilisation:rate5m is 0-1: its name says a
    percentage, its values a fraction; in points it never moved 5 and was always LOW."""
    n = 1600
    ts = T0 + np.arange(n) * 60.0
    values = 0.10 + np.random.default_rng(4).normal(0, 0.01, n)
    values[1500:1510] = 0.95  # pegged for ten minutes
    found = detect_anomalies(
        SeriesInput("east", "instance:node_cpu_utilisation:rate5m", {"instance": "n1"}, ts, values)
    )
    pegged = [a.severity for a in found if a.timestamp.timestamp() >= ts[1500]]
    assert pegged and pegged[0] is AnomalySeverity.HIGH
    # declared a percentage (the catalog's unit), the same values are points: small
    declared = detect_anomalies(
        SeriesInput("east", "instance:node_cpu_utilisation:rate5m", {"instance": "n1"}, ts, values),
        unit="%",
    )
    assert all(a.severity is AnomalySeverity.LOW for a in declared)


def test_a_fraction_and_its_percentage_grade_alike() -> None:
    """An idle node at 0.02 going to 0.06 is a 4-point move whether recorded 0-1 or 0-100
    (review of 7a19ea1: the fraction was graded +200 %, HIGH, the percentage LOW)."""
    rng = np.random.default_rng(1)
    n = 1200
    ts = T0 + np.arange(n) * 60.0
    frac = 0.02 + rng.normal(0, 0.001, n)
    frac[1150:1165] = 0.06 + rng.normal(0, 0.001, 15)
    grades = {}
    for name, values in (("instance:node_cpu_utilisation:rate1m", frac),
                         ("100 * instance:node_cpu_utilisation:rate1m", frac * 100)):  # fmt: skip
        found = detect_anomalies(SeriesInput("c1", name, {"instance": "w1"}, ts, values))
        grades[name] = sorted({a.severity for a in found}, key=lambda s: s.rank)
    assert (
        grades["instance:node_cpu_utilisation:rate1m"]
        == grades["100 * instance:node_cpu_utilisation:rate1m"]
    )
    assert AnomalySeverity.HIGH not in grades["instance:node_cpu_utilisation:rate1m"]
