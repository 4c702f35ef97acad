"""What a series is before it is judged. A raw counter (a ``_total`` name read without
rate(): the CLI's ``analyse --query``, the assistant's ``detect_anomalies``) is judged as
its per-second rate, a reset being no drop; and a 0-1 fraction guessed a percentage by its
name is said and measured in its percentage's points, one sample of rate() extrapolation
just past 1.0 making it no percentage already; a percentage idle at whole percents under 2
is no fraction."""

from __future__ import annotations

import re

import numpy as np
import pytest

from aiops_desktop.models.anomalies import Anomaly
from aiops_desktop.models.enums import AnomalySeverity, AnomalyType
from analysis.detect import SeriesInput, detect_anomalies
from analysis.signals import SignalType, classify, raw_counter

STEP = 15.0
T0 = 1_700_000_000.0
COUNTER = "node_network_receive_bytes_total"
UTILISATION = "instance:node_cpu_utilisation:rate5m"


def found(metric: str, values: np.ndarray) -> list[Anomaly]:
    ts = T0 + STEP * np.arange(values.size)
    return detect_anomalies(SeriesInput("east", metric, {"instance": "n1"}, ts, values))


def increments(n: int = 2000) -> np.ndarray:
    """About 1000 bytes each 15 s: a steady 67 B/s."""
    return np.random.default_rng(1).uniform(900, 1100, n)


def covers(anomaly: Anomaly, index: int) -> bool:
    at = T0 + STEP * index
    first = (anomaly.started_at or anomaly.timestamp).timestamp()
    return first - 3 * STEP <= at <= (anomaly.last_at or anomaly.timestamp).timestamp()


def test_a_raw_counters_reset_is_no_drop() -> None:
    """The exporter restarted at sample 1500: its counter began again from 0 (it was "1021
    /s vs 1.382e+06 /s before", HIGH): the rate goes on as it was."""
    steps = increments()
    values = np.cumsum(steps)
    values[1500:] = np.cumsum(steps[1500:])
    assert not [a for a in found(COUNTER, values) if covers(a, 1500)]


def test_a_raw_counters_rate_change_is_found_in_its_rate() -> None:
    """Three times the bytes a sample from 1500: a spike of its rate, said per second."""
    steps = increments()
    steps[1500:1560] *= 3
    spikes = [a for a in found(COUNTER, np.cumsum(steps)) if covers(a, 1500)]
    assert spikes and spikes[0].type is AnomalyType.SPIKE
    assert 150 < spikes[0].actual < 250  # 3000 B / 15 s, not the count of bytes
    assert spikes[0].explanation.startswith(f"{spikes[0].actual:.4g} /s vs ")


def test_a_rate_query_is_judged_as_it_is() -> None:
    """rate() gave a rate already: a rising one is not taken for a count (its rate of rate)."""
    rates = increments() / STEP
    rates[1500:1560] *= 3
    spikes = [a for a in found(f"rate({COUNTER}[5m])", rates) if covers(a, 1500)]
    assert spikes and 150 < spikes[0].actual < 250


#: a recording rule's name (level:metric:operations): the rate of a counter, taken already
RECORDED_RATE = "namespace:container_cpu_usage_seconds_total:sum_rate"


def test_a_recording_rules_rate_is_no_raw_counter() -> None:
    """``_total`` inside a recording rule's name is its counter's, not the series' own: the
    series is the rule's rate (a counter rate all the same), judged as it is. A raw
    counter's ``_total`` ends its name, with or without labels or a function around it."""
    assert classify(RECORDED_RATE) is SignalType.COUNTER_RATE
    assert not raw_counter(RECORDED_RATE)
    assert not raw_counter("job:http_requests_total:rate5m")
    assert raw_counter(COUNTER)
    assert raw_counter(f'sum by (device) ({COUNTER}{{device="eth0"}})')
    assert not raw_counter(f"{COUNTER}_extra")


def test_a_recording_rules_rate_is_judged_as_it_is() -> None:
    """A namespace's CPU climbing through the day (seldom down, as a smoothed rate is), 0.8
    cores less for 40 samples from 1000: one drop in cores, not its rate of change spiking
    ("0.08448 /s vs 7.463e-05 /s before (+113094 %)")."""
    rng = np.random.default_rng(3)
    cores = np.maximum.accumulate(0.4 + 2.0 * np.arange(1200) / 1200 + rng.normal(0, 0.002, 1200))
    cores[1000:1040] -= 0.8
    found_there = [a for a in found(RECORDED_RATE, cores) if covers(a, 1000)]
    assert found_there and found_there[0].type is AnomalyType.DROP
    assert 1.0 < found_there[0].actual < 2.0  # cores (CPU-seconds a second), not their change


def utilisation(*, glitch: float | None = None) -> np.ndarray:
    """CPU at 10 % (0.10) for hours, at 60 % for 50 minutes from sample 1400; ``glitch``:
    one earlier sample at that value (rate()'s extrapolation past 1.0)."""
    rng = np.random.default_rng(11)
    values = np.clip(0.10 + rng.uniform(-0.01, 0.01, 1700), 0, None)
    values[1400:1600] = 0.60
    if glitch is not None:
        values[200] = glitch
    return values


def the_rise(values: np.ndarray, metric: str = UTILISATION) -> Anomaly:
    return next(a for a in found(metric, values) if covers(a, 1400))


def test_a_fraction_guessed_a_percentage_is_said_in_percent() -> None:
    """It was "0.6% vs 0.0995% before" for 60 % after 10 %."""
    said = re.match(r"([\d.]+)% vs ([\d.]+)% before", the_rise(utilisation()).explanation)
    assert said is not None
    assert abs(float(said[1]) - 60) < 0.5 and abs(float(said[2]) - 10) < 1


@pytest.mark.parametrize("glitch", [1.0004, 1.06, 1.1])
def test_one_sample_past_one_leaves_a_fraction_a_fraction(glitch: float) -> None:
    """The glitch made the whole series percent: 50 points read 0.5, and HIGH read LOW
    (at 1.0004 once; at 1.06, an overshoot past ``FRACTION_MOST`` on one sample, again)."""
    plain, glitched = the_rise(utilisation()), the_rise(utilisation(glitch=glitch))
    assert glitched.change_points is not None and abs(glitched.change_points - 50) < 1
    assert glitched.severity is plain.severity is AnomalySeverity.HIGH
    assert glitched.explanation.startswith("60% vs ")


def test_a_percentage_idle_under_one_is_no_fraction_when_it_bursts() -> None:
    """A GPU idle at 0-1 % and busy at 40 % for 5 samples (under 1 % of them): a percentage
    (no fraction goes past 1.1), its move 40 points, not 4000."""
    values = np.random.default_rng(3).uniform(0, 1, 1700)
    values[1400:1405] = 40.0
    burst = the_rise(values, "DCGM_FI_DEV_GPU_UTIL")
    assert burst.change_points is not None and 35 < burst.change_points < 41
    assert burst.explanation.startswith("40% vs ")


def test_a_percentage_idle_under_one_is_no_fraction_when_it_blips() -> None:
    """An idle GPU's whole percents, 0 or 1, and 2 % on 10 of 2,000 samples: a percentage
    (no fraction goes past 1.1), its blip 2 points ("2% vs 0%"), not "200% vs 0%"."""
    values = (np.random.default_rng(5).random(2000) < 0.2).astype(float)
    values[1900:1910] = 2.0
    blips = [a for a in found("DCGM_FI_DEV_GPU_UTIL", values) if covers(a, 1900)]
    assert blips
    for blip in blips:
        assert blip.change_points is not None and blip.change_points <= 2
        assert blip.explanation.startswith("2% vs ")


def test_a_percentage_of_a_rate_blipping_to_one_and_a_half_is_no_fraction() -> None:
    """Idle at 0.2-0.9 % with 1.4 % on 10 of 2,000 samples (a rate's percentage): it was read
    a fraction, the blip said "140% vs 52%"."""
    values = np.random.default_rng(6).uniform(0.2, 0.9, 2000)
    values[1900:1910] = 1.4
    blips = [a for a in found("node_cpu_utilisation_percent", values) if covers(a, 1900)]
    for blip in blips:
        assert not blip.explanation.startswith("140%"), blip.explanation
