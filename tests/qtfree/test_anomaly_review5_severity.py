"""How bad an anomaly is: a percentage past 100 capped by its move in points everywhere (the
finding and the model it is checked by), a ramp graded by the furthest its episode went,
and a rule's breach that flaps at its limit one episode."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from pydantic import ValidationError

from aiops_desktop.models.anomalies import Anomaly
from aiops_desktop.models.enums import AnomalyMethod, AnomalySeverity, Sensitivity
from analysis.detect import (
    RULE_HOLD_S,
    SeriesInput,
    detect_all,
    detect_anomalies,
    forget_streams,
)

STEP = 15.0
T0 = 1_700_000_000.0
CPU_OF_REQUEST = (
    "100 * sum by (pod) (rate(container_cpu_usage_seconds_total[5m]))"
    " / sum by (pod) (kube_pod_container_resource_requests)"
)


def test_a_percentage_past_100_is_capped_by_its_points_and_loses_no_series() -> None:
    """A pod's CPU at 400 % of its request moving to 440 % (40 points, +10 %) and another
    pod's spike, in one call: ``_describe`` let it be HIGH by its 40 points, and the model
    re-capped it by its +10 % (at most MEDIUM) and raised, losing both pods' findings."""
    n = 2000
    ts = T0 + STEP * np.arange(n)
    rng = np.random.default_rng(1)
    over = 400 + rng.normal(0, 1, n)
    over[1500:1520] = 440 + rng.normal(0, 1, 20)
    other = 50 + rng.normal(0, 1, n)
    other[1700:1703] = 90.0
    inputs = [SeriesInput("east", CPU_OF_REQUEST, {"pod": pod}, ts, values)
              for pod, values in (("over", over), ("other", other))]  # fmt: skip
    found = detect_all(inputs, Sensitivity.MEDIUM, None, "%")
    spike = [a for a in found if a.labels["pod"] == "other" and a.actual == 90.0]
    assert spike and spike[0].severity is AnomalySeverity.HIGH
    (moved,) = [a for a in found if a.labels["pod"] == "over" and a.actual > 430]
    assert moved.severity is AnomalySeverity.HIGH  # 40 points
    assert moved.deviation_pct is not None and abs(moved.deviation_pct) < 15
    # what the store and a capture read back is checked by the same cap
    assert Anomaly.model_validate_json(moved.model_dump_json()) == moved


def test_the_model_caps_a_percentage_by_its_points() -> None:
    """400 -> 440 % is 40 points (HIGH allowed); 5 -> 6 % is one (at most LOW) however
    large its +20 % is."""
    base = {
        "cluster": "east", "metric": CPU_OF_REQUEST, "method": AnomalyMethod.CONTEXT,
        "timestamp": "2024-01-01T00:00:00Z", "score": 3.0, "threshold": 2.5,
        "confidence": 1.0, "type": "SPIKE", "explanation": "moved",
    }  # fmt: skip
    Anomaly.model_validate({**base, "severity": "HIGH", "expected": 400.0, "actual": 440.0,
                            "deviation_pct": 10.0, "change_points": 40.0})  # fmt: skip
    with pytest.raises(ValidationError, match=r"allows \(LOW\)"):
        Anomaly.model_validate({**base, "severity": "HIGH", "expected": 5.0, "actual": 6.0,
                                "deviation_pct": 20.0, "change_points": 1.0})  # fmt: skip


# -- a ramp is graded by the furthest its episode went ---------------------------------------

RAMP_AT = 2600


def _doubling(ramp: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """A load around 40 that goes to 80 (at once, or over ``ramp``) at RAMP_AT and stays."""
    n = 3000
    ts = T0 + STEP * np.arange(n)
    values = 40 + np.random.default_rng(9).normal(0, 1, n)
    values[RAMP_AT : RAMP_AT + len(ramp)] = ramp
    values[RAMP_AT + len(ramp) :] = 80 + np.random.default_rng(1).normal(
        0, 1, n - RAMP_AT - len(ramp)
    )
    return ts, values


def _live(
    ts: np.ndarray, values: np.ndarray, owner: str, metric: str = "node_load",
    labels: dict[str, str] | None = None,
) -> dict[str, Anomaly]:  # fmt: skip
    """The live path in miniature: a 720-sample buffer sliding 4 samples a round; the last
    finding of each episode."""
    found: dict[str, Anomaly] = {}
    try:
        for end in range(720, ts.size + 1, 4):
            window = slice(0 if end == 720 else end - 720, end)
            labelled = labels or {"instance": "n0"}
            inputs = [SeriesInput("east", metric, labelled, ts[window], values[window])]
            for a in detect_all(inputs, Sensitivity.MEDIUM, None, None, owner):
                found[a.identity] = a
    finally:
        forget_streams(owner)
    return found


def _at_ramp(found: Iterable[Anomaly], ts: np.ndarray) -> Anomaly:
    (ramp,) = [
        a for a in found if a.started_at is not None and a.started_at.timestamp() == ts[RAMP_AT]
    ]
    return ramp


@pytest.mark.parametrize("ramp", [[80.0], list(np.linspace(44, 80, 8))], ids=["jump", "ramp"])
def test_a_ramp_is_graded_by_the_furthest_its_episode_went(ramp: list[float]) -> None:
    """A load that doubles over 2 minutes and stays: the detector fires at its first sample
    (44, +10 %) and is quiet after it, so the episode was one LOW "+10 %" where the same
    doubling at once was HIGH. Graded by the furthest sample of its quiet period, it is
    HIGH either way, in one batch and in live rounds (which see the rest of the ramp in
    later rounds) alike."""
    ts, values = _doubling(ramp)
    batch = _at_ramp(
        detect_anomalies(SeriesInput("east", "node_load", {"instance": "n0"}, ts, values)), ts
    )
    live = _at_ramp(_live(ts, values, "ramp-test").values(), ts).model_copy(update={"id": batch.id})
    assert batch.severity is AnomalySeverity.HIGH and batch.actual > 75, batch.explanation
    assert live == batch


def test_a_ramps_grade_reads_only_the_samples_up_to_the_analysis() -> None:
    """Causal: an analysis that ends 2 samples into the ramp grades it by those (a later
    one, by more of it, grades it higher), and the detector's score is the one it fired with."""
    ts, values = _doubling(list(np.linspace(44, 80, 8)))
    found = [
        _at_ramp(detect_anomalies(SeriesInput("east", "node_load", {"instance": "n0"},
                                              ts[:end], values[:end])), ts)
        for end in (RAMP_AT + 1, RAMP_AT + 3, RAMP_AT + 40)
    ]  # fmt: skip
    assert [a.actual for a in found] == [
        values[RAMP_AT],
        values[RAMP_AT + 2],
        max(values[RAMP_AT : RAMP_AT + 21]),
    ]
    assert len({a.score for a in found}) == 1 and len({a.identity for a in found}) == 1
    assert [a.severity for a in found][-1] is AnomalySeverity.HIGH


# -- a rule breach that flaps at its limit is one episode ------------------------------------

GPU = {"Hostname": "n1", "gpu": "0"}


def _flapping(minutes_below: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A GPU at 65 C for 3 h, then reading 69/70 C (integer DCGM readings, each held about
    a minute) for 2 h; ``minutes_below``: instead, at 70 C for a minute, then at 69 C that
    long, then at 70 C again."""
    n = 720 + 480
    ts = T0 + STEP * np.arange(n)
    temp = np.full(n, 65.0)
    if minutes_below is None:
        rng, state = np.random.default_rng(11), 69.0
        for i in range(720, n):
            state = 139.0 - state if rng.random() < 0.25 else state
            temp[i] = state
    else:
        below = round(minutes_below * 4)
        temp[720:724], temp[724 : 724 + below], temp[724 + below : 728 + below] = 70, 69, 70
    return ts, temp


def _rule_episodes(found: Iterable[Anomaly]) -> list[Anomaly]:
    return [a for a in found if a.method is AnomalyMethod.DOMAIN_RULE]


def test_a_gpu_flapping_at_its_limit_is_one_anomaly() -> None:
    """Each return to 70 C after 45 s below was a new HIGH anomaly (a new episode past
    EPISODE_GAP points): 2 h of 69/70 C readings was dozens. A breach that resumes within
    RULE_HOLD_S goes on with the last one, in one batch and in live rounds alike."""
    ts, temp = _flapping()
    batch = _rule_episodes(detect_anomalies(SeriesInput("east", "gpu_temperature", GPU, ts, temp)))
    live = _rule_episodes(_live(ts, temp, "flap-test", "gpu_temperature", GPU).values())
    assert len(batch) == 1 and batch[0].severity is AnomalySeverity.HIGH
    assert (
        batch[0].started_at is not None
        and batch[0].started_at.timestamp() == ts[np.argmax(temp >= 70)]
    )
    assert [a.identity for a in live] == [batch[0].identity]
    assert live[0].last_at == batch[0].last_at


@pytest.mark.parametrize(
    ("minutes_below", "episodes"), [(RULE_HOLD_S / 60 - 1, 1), (RULE_HOLD_S / 60 + 1, 2)]
)
def test_a_breach_resuming_after_the_hold_is_a_new_anomaly(
    minutes_below: float, episodes: int
) -> None:
    ts, temp = _flapping(minutes_below)
    found = _rule_episodes(detect_anomalies(SeriesInput("east", "gpu_temperature", GPU, ts, temp)))
    assert len(found) == episodes
    assert (
        len(_rule_episodes(_live(ts, temp, "hold-test", "gpu_temperature", GPU).values()))
        == episodes
    )


def test_another_breach_or_event_after_a_pause_is_news() -> None:
    """The hold joins the same breach only: a GPU back at 70 C 2 minutes after its critical
    80 C is its warning again (a new episode), and each XID is an event of its own."""
    ts = T0 + STEP * np.arange(200)
    temp = np.full(200, 65.0)
    temp[100:104], temp[112:116] = 80.0, 70.0
    found = _rule_episodes(detect_anomalies(SeriesInput("east", "gpu_temperature", GPU, ts, temp)))
    assert [a.severity for a in found] == [AnomalySeverity.CRITICAL, AnomalySeverity.HIGH]
    xid = np.zeros(200)
    xid[100:110], xid[130:] = 79.0, 48.0
    found = detect_anomalies(SeriesInput("east", "DCGM_FI_DEV_XID_ERRORS", GPU, ts, xid))
    assert ["XID 79" in a.explanation for a in found] == [True, False]
