"""Ranking candidate causes: each signal's deviation from its own pre-incident baseline
(robust z, as BARO), its onset (an earlier change is likelier a cause), its kind (a caller's
latency is likelier a symptom of what it calls) and the call graph where known.

Causal: only samples up to ``Window.end_s`` are read, so data after the analysis time can
never change a ranking.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Literal

import numpy as np

from analysis.rca.model import Cause, Evidence, Signal, SignalKind, Window

MAX_SIGNALS = 50  # candidate signals kept per analysis, the most deviating first
ONSET_Z = 3.0  # |z| at which a signal has left its baseline
MIN_BASELINE = 3  # samples a baseline needs
#: where fewer than MIN_BASELINE came before the lead (the first incident since the data
#: began: a benchmark day's first fault had every signal dropped, its cause ranked nowhere),
#: the samples before detection are the baseline if there are this many; one minute will do
#: for a count (its spread is at least one event, ``Signal.resolution``). Chosen on the
#: benchmark's development cases (README, "RCA benchmark")
EARLY_BASELINE = 2
#: how much a kind of signal says about its own entity being the cause (a slow or failing
#: caller is often the victim of what it calls); the rest of the score is its deviation
KIND_WEIGHT = {  # chosen on the benchmark's development cases (README, "RCA benchmark")
    SignalKind.RESOURCE: 1.0,
    SignalKind.ERRORS: 3.0,  # errors a service writes or returns name it better than anything
    SignalKind.LATENCY: 0.3,
    SignalKind.TRAFFIC: 0.3,
    SignalKind.OTHER: 0.5,
}
#: the z of a sample at +-Inf after the baseline (histogram_quantile's answer for a latency
#: past the largest bucket: the worst there is), where no finite sample went further: past
#: what a largest bucket reads (an apiserver p99 of 0.2 s +- 0.01 at its 60 s bucket: z
#: ~4,000), yet finite: its kind's weight still counts (at the largest float, a latency
#: that is a symptom would outrank every cause and never give way to it, ``_symptoms``)
INFINITE_Z = 10_000.0
#: kinds whose rise, not fall, marks a cause (a resource freed or errors that stop are news,
#: not a cause); a fall counts at DOWNWARD_WEIGHT of its size
FLAT_BASELINE_Z = 10.0  # the most a signal flat in its baseline can score
UPWARD = frozenset({SignalKind.RESOURCE, SignalKind.ERRORS})
DOWNWARD_WEIGHT = 0.3
SYMPTOM_WITHIN_S = 300.0  # a later change within this is a symptom candidate
#: causes a result keeps; a cause's confidence is its share of their scores, so the
#: confidences shown add up to 1 (a share of the top five's, they added up to 1.38 over ten)
CAUSES_KEPT = 10
Spread = Literal["mad", "iqr"]


def _scale(base: np.ndarray, spread_by: Spread = "mad") -> tuple[float, float, bool]:
    """Median and a robust spread of a baseline: twice the MAD (the IQR of a symmetric
    distribution, so a clean baseline's z is BARO's), else the IQR, else the standard
    deviation; ``False`` when the baseline is (nearly) flat, so no spread can be measured.

    The MAD first: a baseline often holds an earlier incident (faults minutes apart, a
    30-minute window), and the MAD stands up to half of its samples being off where the IQR
    stands a quarter; an earlier fault of the same entity widened the IQR until its next
    fault no longer stood out (development cases: Online Boutique 08-22 AC@1 0.46 -> 0.50,
    the truth's mean reciprocal rank up on Train Ticket too). ``spread_by="iqr"``: the IQR
    first, as BARO's robust scaler (the benchmark's robust-z baseline)."""
    median = float(np.median(base))
    q1, q3 = np.percentile(base, [25, 75])
    iqr = float(q3 - q1)
    mad = float(np.median(np.abs(base - median)))
    spread = 2.0 * mad if spread_by == "mad" else iqr
    if spread <= 0:
        spread = iqr if spread_by == "mad" else 1.4826 * mad
    if spread <= 0:
        spread = float(np.std(base))
    floor = max(abs(median) * 1e-3, 1e-12)
    return median, max(spread, floor), spread > floor


def deviation(signal: Signal, window: Window, spread_by: Spread = "mad") -> Evidence | None:
    """How far ``signal`` left its baseline in the window (None: too little data)."""
    ts, values = signal.timestamps, signal.values
    # NaN is no sample; +-Inf is one: histogram_quantile's latency past the largest bucket
    ok = ~np.isnan(values)
    ts, values = ts[ok], values[ok]
    base = values[(ts >= window.detect_s - window.before_s) & (ts < window.change_s)]
    during = (ts >= window.change_s) & (ts <= window.end_s)
    after, after_ts = values[during], ts[during]
    least = 1 if signal.resolution > 0 else EARLY_BASELINE
    if base.size < MIN_BASELINE:  # too little before the lead: what came before detection
        early = values[(ts >= window.detect_s - window.before_s) & (ts < window.detect_s)]
        if early.size >= MIN_BASELINE or base.size < least <= early.size:
            base = early
    if base.size < least or after.size == 0:
        return None
    infinite = np.isinf(base)
    if infinite.all():  # no finite sample to measure from
        return None
    # a latency at +Inf for half its baseline or more was there already: +Inf after is no move
    usual = {1.0: np.isposinf(base).mean() >= 0.5, -1.0: np.isneginf(base).mean() >= 0.5}
    if infinite.any():  # at the baseline's own extremes: a finite median and spread
        base = np.clip(base, base[~infinite].min(), base[~infinite].max())
    median, spread, measured = _scale(base, spread_by)
    if spread < signal.resolution:  # a count: its spread is at least one event
        spread, measured = signal.resolution, True
    z = (after - median) / spread
    beyond = np.isinf(after)
    if beyond.any():  # the largest move: no less than INFINITE_Z, nor any finite sample's
        most = max(INFINITE_Z, float(np.abs(z[~beyond]).max(initial=0.0)))
        moved = np.array([not usual[float(np.sign(a))] for a in after[beyond]])
        z[beyond] = np.where(moved, np.sign(after[beyond]) * most, 0.0)
    if not measured:  # flat before: a move is news, but its size in spreads means nothing
        z = np.clip(z, -FLAT_BASELINE_Z, FLAT_BASELINE_Z)
    if signal.kind in UPWARD:  # a resource that falls is relieved, not the cause
        z = np.where(z < 0, z * DOWNWARD_WEIGHT, z)
    worst = int(np.argmax(np.abs(z)))
    # only a rise of an UPWARD kind marks an onset: with one, a fall got its kind's full
    # weight, and a flat error count that stopped (clipped to z 10, times 0.3 = ONSET_Z)
    # outranked a CPU that rose 57 spreads
    moved = z if signal.kind in UPWARD else np.abs(z)
    left = np.flatnonzero(moved >= ONSET_Z)
    onset = float(after_ts[left[0]]) if left.size else None
    return Evidence(signal.name, signal.kind, float(abs(z[worst])), onset, median,
                    float(after[worst]))  # fmt: skip


def _squash(z: float) -> float:
    """A z of 3 counts, one of 300 not a hundred times more (log above the onset)."""
    return z if z <= ONSET_Z else ONSET_Z + math.log1p(z - ONSET_Z)


def _weighted(ev: Evidence) -> float:
    """The evidence's score: its deviation, times its kind's weight. A signal that never left
    its baseline (no onset) is not boosted by its kind: a count of pod restarts at z 1.0
    (weight 3) outranked a PTP port whose offset was at z 18 in the sample capture."""
    weight = KIND_WEIGHT[ev.kind]
    if ev.first_deviation_s is None:
        weight = min(weight, 1.0)
    return weight * _squash(ev.z)


def rank(
    signals: Iterable[Signal],
    window: Window,
    *,
    calls: Mapping[str, Iterable[str]] | None = None,
    spread_by: Spread = "mad",
) -> list[Cause]:
    """Entities ranked as likely causes, best first. ``calls``: caller -> callees (traces or
    a dependency list), where known; ``spread_by``: see ``_scale``."""
    found: list[tuple[str, Evidence]] = []
    for signal in signals:
        ev = deviation(signal, window, spread_by)
        if ev is not None and math.isfinite(ev.z):
            found.append((signal.entity, ev))
    found.sort(key=lambda item: -_weighted(item[1]))
    kept = found[:MAX_SIGNALS] if len(found) > MAX_SIGNALS else found
    by_entity: dict[str, list[Evidence]] = {}
    for entity, ev in kept:
        by_entity.setdefault(entity, []).append(ev)
    for entity, _ev in found[MAX_SIGNALS:]:  # an entity has a place even if its signals don't
        by_entity.setdefault(entity, [])
    causes = []
    for entity, evidence in by_entity.items():
        score = max((_weighted(e) for e in evidence), default=0.0)
        onsets = [e.first_deviation_s for e in evidence if e.first_deviation_s is not None]
        causes.append(Cause(entity, score, 0.0, min(onsets) if onsets else None, evidence))
    _symptoms(causes, calls or {})
    causes.sort(key=lambda c: (-c.score, c.onset_s if c.onset_s is not None else math.inf,
                               c.entity))  # fmt: skip
    top = sum(c.score for c in causes[:CAUSES_KEPT]) or 1.0
    for cause in causes:
        cause.confidence = round(cause.score / top, 3) if cause.score > 0 else 0.0
    return causes


def _symptoms(causes: list[Cause], calls: Mapping[str, Iterable[str]]) -> None:
    """A caller whose change came with or after a deviating callee's (within
    ``SYMPTOM_WITHIN_S``) and is no stronger is likelier its symptom: it gives way."""
    by = {c.entity: c for c in causes}
    for caller, callees in sorted(calls.items()):  # in a fixed order: the result is the same
        mine = by.get(caller)
        if mine is None or mine.onset_s is None:
            continue
        own = mine.score  # what each callee is weighed against: its own evidence's score
        for callee in sorted(callees):
            theirs = by.get(callee)
            if theirs is None or theirs.onset_s is None or callee == caller:
                continue
            later = 0 <= mine.onset_s - theirs.onset_s <= SYMPTOM_WITHIN_S
            if later and theirs.score >= 0.5 * own:
                mine.score = min(mine.score, theirs.score * 0.9)
