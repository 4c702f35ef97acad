"""RCA scoring: a fall of an UPWARD kind (errors that stop, a resource freed) is relief, not a
cause. It counts at DOWNWARD_WEIGHT of its size but never marks an onset, so its kind's weight
is capped as for any signal that never left its baseline: a flat error rate that falls to 0
(clipped to z 10, times 0.3 = exactly ONSET_Z) outranked a node whose CPU rose ~57 spreads."""

from __future__ import annotations

import numpy as np

from analysis.rca.model import Signal, SignalKind, Window
from analysis.rca.score import deviation, rank

TS = np.arange(0.0, 2160.0, 60.0)  # 36 min, the incident detected at 1800
WINDOW = Window(1800)


def _stopped_errors() -> Signal:
    """A pod's failed-span rate, flat at 2/s, that falls to 0: its errors stopped."""
    values = np.where(TS >= 1740, 0.0, 2.0)
    return Signal("east pod shop/ok-0", "error_spans", SignalKind.ERRORS, TS, values)


def _rising_cpu() -> Signal:
    noise = np.random.default_rng(1).normal(0, 1, TS.size)
    values = 40 + noise + np.where(TS >= 1740, 50.0, 0.0)
    return Signal("east node w1", "node_cpu", SignalKind.RESOURCE, TS, values)


def test_errors_that_stop_mark_no_onset() -> None:
    ev = deviation(_stopped_errors(), WINDOW)
    assert ev is not None
    assert ev.z > 0  # the fall still counts, at DOWNWARD_WEIGHT of its size
    assert ev.first_deviation_s is None


def test_a_rising_resource_outranks_errors_that_stopped() -> None:
    causes = rank([_stopped_errors(), _rising_cpu()], WINDOW)
    assert [c.entity for c in causes] == ["east node w1", "east pod shop/ok-0"]
    assert causes[0].onset_s == 1740.0
    assert causes[1].onset_s is None


def test_errors_that_rise_from_flat_still_mark_an_onset() -> None:
    values = np.where(TS >= 1740, 2.0, 0.0)  # the same move, upward: a cause
    ev = deviation(Signal("pod", "error_spans", SignalKind.ERRORS, TS, values), WINDOW)
    assert ev is not None and ev.first_deviation_s == 1740.0


def test_a_latency_fall_still_marks_an_onset() -> None:
    """Only UPWARD kinds are relief when they fall: a latency drop is still a change."""
    values = np.where(TS >= 1740, 0.0, 2.0)
    ev = deviation(Signal("svc", "p99", SignalKind.LATENCY, TS, values), WINDOW)
    assert ev is not None and ev.first_deviation_s == 1740.0
