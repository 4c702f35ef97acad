"""Anomalies of one series: run the signal type's methods, group breaching points into
episodes, and describe each episode once (docs/architecture.md#rules).

By default every statistical judgement is the benchmarked detector (``AnomalyMethod.CONTEXT``,
analysis/detectors/live.py): its score's tail probability becomes a z-equivalent on the scale
where its benchmarked threshold is the MEDIUM sensitivity, and its severity. In the live path
one detector per series is kept between calls (``stream=True``): each sample is judged once,
when it arrives. The other methods run where a caller asks for them (``methods=``).

A point breaches when a method's z-equivalent score reaches the sensitivity threshold (LOW 3.0,
MEDIUM 2.5, HIGH 2.0, EXTREME 1.5) or a domain rule fires. Consecutive breaching points (gaps of
up to ``EPISODE_GAP`` points) are one episode and yield one anomaly, reported at its worst point
and identified by its first point, so re-running over overlapping windows finds the same
anomaly again instead of a new one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial

import numpy as np

from aiops_desktop.models.anomalies import (
    ANOMALY_MIN_POINTS,
    LASTED,
    STILL_OPEN_NOTE,
    Anomaly,
    change_cap,
)
from aiops_desktop.models.enums import AnomalyMethod, AnomalySeverity, AnomalyType, Sensitivity
from aiops_desktop.models.gpu import XidInfo
from aiops_desktop.models.ptp import OFFSET_THRESHOLD_NS
from analysis.detectors.base import MAD_TO_SIGMA
from analysis.detectors.context import QUIET
from analysis.detectors.live import (
    DETECTION_Z,
    LOG_FLOOR,
    MAX_SERIES,
    PROBATION,
    StreamScorers,
    score_series,
    severity_of_tail,
    tail_of,
    z_of,
)
from analysis.methods import METHODS, MethodResult, trailing_starts
from analysis.rules import RuleHit, apply_rule, dcgm_blanks, rule_for, rule_judges
from analysis.signals import SignalProfile, SignalType, profile_for, raw_counter

EPISODE_GAP = 2
#: how long a domain rule's breach of a level may stop and still go on as the same episode
#: when the same breach resumes (hysteresis): a reading that flaps at its limit is one
#: condition, and each return to it past EPISODE_GAP points was a new anomaly (a GPU reading
#: 69/70 C: a new HIGH each time it read 70 C again after 45 s below, 45 in 3 h). Another
#: breach after a pause (its critical limit, a PTP port's faulty offset) is news, and so is
#: each event (an XID); the detector's episodes keep EPISODE_GAP (a sample is judged once)
RULE_HOLD_S = 600.0
STRONG = 2.0  # score/threshold at which a single method is believed alone
MIN_RUN = 3  # breaching points that make an episode believable at any score
LONG_EPISODE = 10  # points: a breach that lasts this long is a trend change, not a spike
CONTEXT_SCALE = Sensitivity.MEDIUM.threshold / DETECTION_Z  # the benchmarked threshold = MEDIUM
#: the live paths' detectors, kept where detection runs (a worker process or thread), one
#: set per owner (an app's anomaly service), so two owners in one process never share one
_LIVE_STREAMS: dict[str, StreamScorers] = {}
#: the samples each method reads before the first it judges (its trailing history, its
#: first block's fit, the detector's learning; at the worst, a level shift's recent run at a
#: 1 s step): a one-off analysis reads this many before the window it is asked about, else
#: the window's first part is only learnt from (720 points: none judged by the detector)
LEAD_POINTS = {
    AnomalyMethod.CONTEXT: PROBATION,
    AnomalyMethod.ZSCORE: ANOMALY_MIN_POINTS,
    AnomalyMethod.MAD: ANOMALY_MIN_POINTS,
    AnomalyMethod.IQR: ANOMALY_MIN_POINTS,
    AnomalyMethod.LEVEL_SHIFT: ANOMALY_MIN_POINTS + 720 // 12,
    AnomalyMethod.ETS: 2 * ANOMALY_MIN_POINTS,
    AnomalyMethod.STL: 2 * ANOMALY_MIN_POINTS,
    AnomalyMethod.MSTL: 2 * ANOMALY_MIN_POINTS,
    AnomalyMethod.SEASONAL_ESD: 0,  # a batch review of the whole stretch
    AnomalyMethod.DOMAIN_RULE: 0,  # every point, against its rule
}


def lead_points(methods: Sequence[AnomalyMethod]) -> tuple[int, int]:
    """(fewest, most) samples the chosen statistical methods read before they judge one:
    a series with no more than the fewest has no point judged by any of them, one with
    the most before a window has all of it judged by all. (0, 0): rules alone."""
    leads = [LEAD_POINTS[m] for m in methods if m is not AnomalyMethod.DOMAIN_RULE]
    return (min(leads), max(leads)) if leads else (0, 0)


def unjudged(values: np.ndarray, fewest: int = ANOMALY_MIN_POINTS) -> bool:
    """Whether the statistical detectors judge none of ``values``: each reads ``fewest`` or
    more before the first it judges (``analysis.detect.LEAD_POINTS``; ANOMALY_MIN_POINTS for
    the trailing statistics, ``analysis/methods.py`` ``_trailing``; a NaN is no value), so a
    series of that many values or fewer has no point judged (one of exactly that many was
    said "0 anomalies")."""
    return int(np.isfinite(values).sum()) <= fewest


def learnt_in_window(ts: np.ndarray, values: np.ndarray, lead: int, window_from: float) -> bool:
    """Whether part of the window from ``window_from`` was only learnt from: fewer than
    ``lead`` values came before it (a series that began within the lead: a new pod)."""
    return int((np.isfinite(values) & (ts < window_from)).sum()) < lead


def judged_short(
    inputs: Sequence[SeriesInput], methods: Sequence[AnomalyMethod], window_from: float
) -> tuple[int, int]:
    """(too short, judged in part) of a one-off analysis' ``inputs`` with ``methods`` over
    the window from ``window_from``: series none of whose points the statistics judge, and
    those begun within the lead read before the window. (0, 0) for the rules alone, which
    judge every point."""
    if all(m is AnomalyMethod.DOMAIN_RULE for m in methods):
        return 0, 0
    fewest, lead = lead_points(methods)
    short = sum(unjudged(i.values, fewest) for i in inputs)
    partly = sum(
        not unjudged(i.values, fewest) and learnt_in_window(i.ts, i.values, lead, window_from)
        for i in inputs
    )
    return short, partly


SEASONAL = {AnomalyMethod.STL, AnomalyMethod.MSTL, AnomalyMethod.ETS, AnomalyMethod.SEASONAL_ESD}


@dataclass(frozen=True)
class SeriesInput:
    cluster: str
    metric: str  # metric name or PromQL query
    labels: dict[str, str]
    ts: np.ndarray  # epoch seconds, ascending
    values: np.ndarray
    #: (first, last point found) of this series' episodes found before (stored; one still
    #: open too: open says it went on when last found, not since): an episode reaching back
    #: to the first sample read keeps the start of the one that covered that moment (its
    #: identity), however the read was cut
    episodes: tuple[tuple[float, float], ...] = ()
    #: the live path: the newest sample an earlier run judged (None: none did). An episode
    #: that ended by then and is not one found before is not reported: its samples were
    #: judged when they arrived, and a detector started since (a restart) that learns from
    #: them again would report what was not found then
    judged_until: float | None = None


@dataclass
class _Breach:
    index: int
    ratio: float  # score / threshold (rules: how far past the limit)
    method: AnomalyMethod
    score: float  # signed z-equivalent
    expected: float
    agreeing: int
    reason: str | None = None
    methods: frozenset[AnomalyMethod] = frozenset()
    grade: AnomalySeverity | None = None  # a rule's breach: how bad (``RuleHit.grade``)
    tail: float | None = None  # CONTEXT: the tail probability its score stands for
    spreads: float = math.inf  # CONTEXT: robust spreads the value moved from its window


#: a live detector breach still graded (``StreamScorers.graded``): its time, itself, and the
#: time of its episode's worst point last reported
_Graded = tuple[float, _Breach, float]


def _episodes(breaches: list[_Breach], ts: np.ndarray, hold: float) -> list[list[_Breach]]:
    """Breaches up to EPISODE_GAP points apart are one episode, and a rule's breach up to
    ``hold`` seconds after the same breach (``_condition``) goes on with that one's episode
    (what was found between, by other methods, stays its own); in order of their first
    breach."""
    episodes: list[list[_Breach]] = []
    latest: list[_Breach] = []  # the episode of the last breach
    held: dict[str, tuple[list[_Breach], float]] = {}  # a condition: its episode, last time
    for b in sorted(breaches, key=lambda b: b.index):
        condition = _condition(b)
        at = float(ts[b.index])
        if condition in held and at - held[condition][1] <= hold:
            joined = held[condition][0]
        elif latest and b.index - latest[-1].index <= EPISODE_GAP + 1:
            joined = latest
        else:
            joined = []
            episodes.append(joined)
        joined.append(b)
        latest = joined
        if condition is not None:
            held[condition] = (joined, at)
    return episodes


def _condition(breach: _Breach) -> str | None:
    """Which breach a rule's is, the same at any value: its reason less its numbers (a GPU
    at 70 C or 71 C is one warning, at 80 C critical; None: no rule's)."""
    if breach.method is not AnomalyMethod.DOMAIN_RULE or breach.reason is None:
        return None
    return re.sub(r"[-+]?\d+(?:\.\d+)?", "#", breach.reason)


def _believed(episode: list[_Breach]) -> bool:
    """2.5 sigma is crossed by one point in eighty of plain noise, and point methods err
    together; an episode is believed when it is far past the threshold, lasts ``MIN_RUN``
    points, or is a level shift or a domain rule."""
    believed_alone = (AnomalyMethod.LEVEL_SHIFT, AnomalyMethod.DOMAIN_RULE, AnomalyMethod.CONTEXT)
    return (
        len(episode) >= MIN_RUN
        or max(b.ratio for b in episode) >= STRONG
        or any(b.method in believed_alone for b in episode)
    )


def _statistical_breaches(
    results: list[MethodResult], threshold: float, profile: SignalProfile
) -> list[_Breach]:
    breaches = []
    n = results[0].scores.size if results else 0
    for i in range(n):
        best: _Breach | None = None
        agreeing = 0
        seen: set[AnomalyMethod] = set()
        for r in results:
            score = float(r.scores[i])
            if not math.isfinite(score) or abs(score) < threshold:
                continue
            if profile.upper_only and score < 0:
                continue
            agreeing += 1
            seen.add(r.method)
            ratio = abs(score) / threshold
            if best is None or ratio > best.ratio:
                best = _Breach(i, ratio, r.method, score, float(r.expected[i]), 0)
                if r.tails is not None and r.spreads is not None:  # CONTEXT
                    best.tail, best.spreads = float(r.tails[i]), float(r.spreads[i])
        # most methods must agree (or one be sure), and ``_believed`` asks more of the episode
        if best is not None and (2 * agreeing > len(results) or best.ratio >= STRONG):
            best.agreeing = agreeing
            best.methods = frozenset(seen)
            breaches.append(best)
    return breaches


def _context(
    series: SeriesInput,
    ts: np.ndarray,
    values: np.ndarray,
    streams: StreamScorers | None,
    *,
    upper_only: bool = False,
) -> MethodResult:
    """The benchmarked detector's judgement: a z-equivalent (signed by the side of the trailing
    median the value is on) where it scored, NaN where it did not judge the sample now;
    ``upper_only``: its variant for types where only a rise is news."""
    if streams is None:
        raw = score_series(ts, values, upper_only=upper_only)
    else:
        raw = streams.scores(_stream_key(series), ts, values, upper_only=upper_only)
    scores = np.where(np.isfinite(raw), 0.0, np.nan)
    expected = np.full(values.size, np.nan)
    tails = np.full(values.size, np.nan)
    spreads = np.full(values.size, np.nan)
    starts = trailing_starts(ts)
    for i in np.flatnonzero(np.nan_to_num(raw) > 0):
        history = values[starts[i] : i]
        history = history[np.isfinite(history)]
        centre = float(np.median(history)) if history.size else float(values[i])
        expected[i] = centre
        spreads[i] = abs(values[i] - centre) / spread if (spread := _spread(history)) else np.inf
        side = -1.0 if values[i] < centre else 1.0
        scores[i] = side * z_of(float(raw[i])) * CONTEXT_SCALE
        tails[i] = tail_of(float(raw[i]))
    return MethodResult(AnomalyMethod.CONTEXT, scores, expected, tails, spreads)


def _spread(history: np.ndarray) -> float:
    """The robust spread (MAD as sigma) of recent values; where most are one value (errors,
    restarts, alerts at 0; an idle GPU) their standard deviation (as ``analysis.methods``
    does), and no less than one event's worth (``_one_event``): 1 against a run of 0 is one
    step, not infinitely many spreads (which made a stray error line HIGH), and so is 1/60
    of a per-second rate (which made two errors HIGH per second and LOW per minute)."""
    if not history.size:
        return 0.0
    mad = float(np.median(np.abs(history - np.median(history)))) * MAD_TO_SIGMA
    if mad > 0:
        return mad
    return max(float(np.std(history)), _one_event(history))


def _one_event(history: np.ndarray) -> float:
    """How far one event moves a series: the smallest step between the values it took (1
    for a count, 1/60 for errors per second over whole errors a minute; steps within
    float rounding of its largest value are one value); where it took one value, 1 for a
    count (errors at 0 throughout) and 0 for a fraction (no step known)."""
    steps = np.diff(np.unique(history))
    steps = steps[steps > 1e-9 * float(np.max(np.abs(history)))]
    if steps.size:  # never more than one unit: an hour of 0 and one earlier burst of 76 is
        return min(float(steps.min()), 1.0)  # no spread of 76 (the next burst read LOW)
    return 1.0 if bool(np.all(history == np.round(history))) else 0.0


def _rule_breaches(hits: Sequence[RuleHit | None]) -> list[_Breach]:
    return [
        _Breach(
            i,
            h.ratio,
            AnomalyMethod.DOMAIN_RULE,
            h.ratio,
            h.expected,
            1,
            h.reason,
            grade=h.grade,
        )
        for i, h in enumerate(hits)
        if h is not None
    ]


def _type(episode: list[_Breach], peak: _Breach, actual: float) -> AnomalyType:
    if peak.method is AnomalyMethod.DOMAIN_RULE:
        return AnomalyType.THRESHOLD_BREACH
    shifted = any(AnomalyMethod.LEVEL_SHIFT in b.methods for b in episode)
    if peak.method is AnomalyMethod.LEVEL_SHIFT or (shifted and len(episode) >= LONG_EPISODE):
        return AnomalyType.TREND_CHANGE
    if peak.method in SEASONAL and math.isfinite(peak.expected):
        # the value is ordinary for the series but wrong for this point of its cycle
        return AnomalyType.PATTERN_BREAK if peak.agreeing == 1 else _direction(actual, peak)
    return _direction(actual, peak)


def _direction(actual: float, peak: _Breach) -> AnomalyType:
    return AnomalyType.SPIKE if actual >= peak.expected else AnomalyType.DROP


def _confidence(peak: _Breach, methods: int) -> float:
    """Margin past the threshold and agreement between methods, each worth half; for the
    benchmarked detector its likelihood score itself (the tail on NAB's log scale)."""
    if peak.method is AnomalyMethod.DOMAIN_RULE:
        return 1.0
    if peak.tail is not None:
        return round(min(1.0, math.log(max(peak.tail, 1e-300)) / math.log(LOG_FLOOR)), 3)
    margin = min(1.0, (peak.ratio - 1.0) / 2.0)
    agreement = peak.agreeing / max(1, methods)
    return round(0.5 * margin + 0.5 * agreement, 3)


def _fmt(value: float, unit: str, per_unit: float = 1.0) -> str:
    """``value`` as said, in ``per_unit`` of its unit each (a fraction guessed a percentage:
    100, 0.6 is "60%")."""
    return f"{value * per_unit:.4g}{' ' + unit if unit and unit != '%' else unit}"


def _describe(
    series: SeriesInput,
    episode: list[_Breach],
    sensitivity: Sensitivity,
    profile: SignalProfile,
    methods: int,
    *,
    streaming: bool,
    began: float | None = None,
    judged: np.ndarray | None = None,
    points_per_unit: float | None = None,
    through: int | None = None,
) -> Anomaly:
    """One anomaly for ``episode``; ``judged``: which of the series' values a domain rule
    judged (a PTP offset's +/-100 ns, a GPU's 70/80 C; None: no rule ran on them), whose
    breach outranks any excursion it found inside its limits; ``through``: the last sample
    that a detector's finding is graded by (``_graded_through``; None: its own)."""
    # a rule's breach, where the episode has one, is its peak (the detector's ratios are on
    # another scale: a 60 ns lead-in sample once hid "beyond +/-100 ns" and its severity)
    peak = max(episode, key=lambda b: (b.reason is not None, b.ratio))
    if peak.reason is None and peak.tail is not None and through is not None:
        peak = _furthest(series, episode[0].index, through, peak)
    actual = float(series.values[peak.index])
    expected = peak.expected if math.isfinite(peak.expected) else None
    deviation = 100.0 * (actual - expected) / abs(expected) if expected not in (None, 0.0) else None
    # how far it moved, which bounds how bad it is: a percentage's move in points from any
    # level (0 -> 2 % and 50 -> 52 % are small; 0.5 -> 2 % was +300 % and HIGH); a fraction
    # guessed a percentage from its name (instance:node_cpu_utilisation:rate5m, 0-1) in the
    # points of its percentage (``points_per_unit`` 100: 0.10 -> 0.95 is 85 points, and
    # 0.02 -> 0.06 four, as 2 -> 6 %)
    points = None
    shown = points_per_unit or 1.0
    if points_per_unit is not None and expected is not None:
        points = points_per_unit * (actual - expected)
    cap = change_cap(deviation, points)
    kind = _type(episode, peak, actual)
    first_at = float(series.ts[episode[0].index])
    start = datetime.fromtimestamp(first_at if began is None else began, UTC)
    at = datetime.fromtimestamp(float(series.ts[peak.index]), UTC)
    last = max(episode[-1].index, peak.index)  # it went on to its furthest sample
    lasted = len(episode) + max(0, peak.index - episode[-1].index)
    if began is not None and began < first_at and series.ts.size > 1:
        # it began before what was read: its points before, at the series' step
        lasted += round((first_at - began) / float(np.median(np.diff(series.ts))))
    if peak.reason is not None:
        explanation = peak.reason
        # its rule's grade, however far past the limit (its worst breach's): graded by its
        # ratio, a +150 ns breach of +/-100 ns was LOW where +60 ns inside it was HIGH
        severity = min((b.grade for b in episode if b.grade is not None), key=lambda g: g.rank)
        score = sensitivity.threshold * peak.ratio
    elif peak.tail is not None:  # the benchmarked detector
        explanation = (
            f"{_fmt(actual, profile.unit, shown)} vs {_fmt(expected or 0.0, profile.unit, shown)}"
            + " before"
            + (f" ({deviation:+.0f} %)" if deviation is not None else "")
            + f": new for this series (tail probability {peak.tail:.0e}, context novelty)"
        )
        score = abs(peak.score)
        # how far it moved bounds how bad it is: in its change and in its own spreads (a new
        # extreme of plain noise is new, but small)
        caps = (cap, AnomalySeverity.from_spreads(peak.spreads))
        severity = max((severity_of_tail(peak.tail), *caps), key=lambda s: s.rank)
    else:
        side = "above" if peak.score > 0 else "below"
        explanation = (
            f"{_fmt(actual, profile.unit, shown)} vs expected "
            + _fmt(expected or 0.0, profile.unit, shown)
            + (f" ({deviation:+.0f} %)" if deviation is not None else "")
            + f": {abs(peak.score):.1f} sigma {side} ({peak.method.value}"
            + (f", {peak.agreeing} of {methods} methods agree" if methods > 1 else "")
            + ")"
        )
        score = abs(peak.score)
        by_score = AnomalySeverity.from_ratio(score / sensitivity.threshold)
        severity = by_score if by_score.rank >= cap.rank else cap
    inside = judged is not None and all(judged[b.index] for b in episode)
    if inside and peak.reason is None and severity.rank < AnomalySeverity.MEDIUM.rank:
        # the rule judged it and found it inside its limits: below what a breach of them is
        # (a signed offset's median is 0, with no percentage to cap how far it moved); where
        # no rule ran (``--methods MAD``), +5000 ns is not known to be inside +/-100 ns
        severity = AnomalySeverity.MEDIUM
    # open: it reaches the end of the data and a later analysis will judge that data again
    # to say when it ends; the live detector judges a sample once (its novelty is a moment)
    still_open = episode[-1].index == series.values.size - 1 and not (
        streaming and episode[-1].method is AnomalyMethod.CONTEXT
    )
    if lasted > 1:
        explanation += f"{LASTED}{lasted} points from {start:%H:%M:%S}"
    if still_open:
        explanation += STILL_OPEN_NOTE
    return Anomaly(
        cluster=series.cluster,
        metric=series.metric,
        labels=series.labels,
        method=peak.method,
        sensitivity=sensitivity,
        timestamp=at,
        started_at=start,
        last_at=datetime.fromtimestamp(float(series.ts[last]), UTC),
        score=score,
        threshold=sensitivity.threshold,
        severity=severity,
        confidence=_confidence(peak, methods),
        type=kind,
        expected=expected,
        actual=actual,
        deviation_pct=deviation,
        change_points=points,
        explanation=explanation,
        open=still_open,
    )


def _furthest(series: SeriesInput, first: int, through: int, peak: _Breach) -> _Breach:
    """The detector's ``peak`` graded by the sample from ``first`` to ``through`` that moved
    furthest from its expected value on the side it moved (itself where none moved further):
    its score and tail stay the detector's, how far it moved (in its change and its own
    spreads, which cap its severity) is that sample's. A sample that is no reading is none:
    NaN, +-Inf (histogram_quantile's p99 past its largest bucket: stored as no value, the
    anomaly was unreadable) and a DCGM series' blank (2**47: a +14 % move read HIGH)."""
    values = series.values
    if not math.isfinite(peak.expected) or through <= first:
        return peak
    moved_at_peak = abs(float(values[peak.index]) - peak.expected)
    side = 1.0 if values[peak.index] >= peak.expected else -1.0
    window = values[first : through + 1]
    moved = side * (window - peak.expected)
    usable = np.isfinite(moved)
    if "DCGM_" in series.metric:
        usable &= ~dcgm_blanks(window)
    moved = np.where(usable, moved, -np.inf)
    furthest = int(np.argmax(moved))
    if moved[furthest] <= moved_at_peak:
        return peak
    spreads = peak.spreads * moved[furthest] / moved_at_peak if moved_at_peak else peak.spreads
    return replace(peak, index=first + furthest, spreads=float(spreads))


def _graded_through(episodes: list[list[_Breach]], size: int) -> list[int]:
    """Each episode's last sample its detector's finding is graded by: ``QUIET`` samples
    past its last breach (the benchmarked detector's silence after it reports: a ramp it
    reported at its first sample, barely past the known range, went on unreported there, and
    a load doubling over 2 minutes was one LOW "+10 %"), short of
    the next episode and of the newest sample read (causal: an analysis ending 2 samples
    into a ramp grades it by those two; a later one, by more of it)."""
    nexts = [e[0].index for e in episodes[1:]] + [size]  # one more where there is none
    return [min(e[-1].index + QUIET, nxt - 1) for e, nxt in zip(episodes, nexts, strict=False)]


#: how far past 1.0 most of a fraction's values go: rate()'s extrapolation to its range's
#: ends (a CPU busy throughout read 1.0004)
FRACTION_MOST = 1.05

#: the most any of a fraction's values goes: a sample of rate()'s extrapolation overshoots
#: by a few hundredths (1.06 once), under it; a percentage idle under 1 % blips past it (an
#: idle GPU's whole percents, 2; a rate's 1.4 % read "140 %" at 1.5)
FRACTION_PEAK = 1.1


def _fraction(values: np.ndarray) -> bool:
    """Whether a series guessed a percentage by its name is a fraction 0-1: its values' 99th
    percentile at most ``FRACTION_MOST`` and their most at most ``FRACTION_PEAK``. Not every
    value at most ``FRACTION_MOST``: one sample of overshoot (1.06) made the whole series a
    percentage, its moves 100 times too small (HIGH read LOW). A percentage idle under 1 %
    goes past it on a few samples only (a burst to 40 %, an idle GPU's 2 % blip on 10 of
    2,000 samples read "200% vs 0%" when the most allowed was 2.0)."""
    magnitudes = np.abs(values[np.isfinite(values)])
    if not magnitudes.size:
        return True
    return bool(
        np.percentile(magnitudes, 99) <= FRACTION_MOST and magnitudes.max() <= FRACTION_PEAK
    )


def _running_total(values: np.ndarray) -> bool:
    """Whether ``values`` are a counter's running total: none below 0, and down only where
    it was reset (a restart), at most one step in ten of those it moves (a rate goes down
    about as often as up; a counter that moves twice and was reset once is still one)."""
    finite = values[np.isfinite(values)]
    if finite.size < 2 or bool((finite < 0).any()):
        return False
    steps = np.diff(finite)
    return int((steps < 0).sum()) <= max(1, int((steps > 0).sum()) // 10)


def _per_second(ts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A counter's running total as its rate per second from the value before (no value
    for its first, nor where it has none); a drop is a reset, after which it counted from
    0: its increase is its new value, as Prometheus' rate() takes it (the reset read as a
    HIGH drop, "1021 /s vs 1.382e+06 /s before")."""
    rates = np.full(values.size, np.nan)
    at = np.flatnonzero(np.isfinite(values))
    if at.size < 2:
        return rates
    counted = values[at]
    increase = np.diff(counted)
    increase = np.where(increase < 0, counted[1:], increase)
    elapsed = np.diff(ts[at])
    rates[at[1:]] = np.divide(increase, elapsed, out=np.full(increase.size, np.nan),
                              where=elapsed > 0)  # fmt: skip
    return rates


def detect_anomalies(
    series: SeriesInput,
    *,
    sensitivity: Sensitivity = Sensitivity.MEDIUM,
    methods: Sequence[AnomalyMethod] | None = None,
    unit: str | None = None,
    ptp_limit_ns: float = OFFSET_THRESHOLD_NS,
    streams: StreamScorers | None = None,
    xids: Mapping[int, XidInfo] | None = None,
) -> list[Anomaly]:
    """Every anomaly episode in ``series``: domain rules judge every point, statistics need
    ANOMALY_MIN_POINTS of them; ``streams``: the live path's kept detectors (None: a fresh one
    over the whole series); ``xids``: the XID table an XID's grade comes from (``rule_for``)."""
    ts = np.asarray(series.ts, dtype=float)
    values = np.asarray(series.values, dtype=float)
    if not values.size:
        return []
    profile = profile_for(series.metric, unit)
    if raw_counter(series.metric, kind=profile.type) and _running_total(values):
        values = _per_second(ts, values)  # what its type judges: its rate, not its count
    chosen = tuple(methods) if methods is not None else profile.methods
    breaches: list[_Breach] = []
    check = rule_for(profile.type, series.metric, xids)
    judged = None  # which values the rule judged (a breach or inside its limits)
    if AnomalyMethod.DOMAIN_RULE in chosen and check is not None:
        breaches += _rule_breaches(apply_rule(check, values, limit=ptp_limit_ns))
        judged = rule_judges(check, values)
    statistical = [m for m in chosen if m is not AnomalyMethod.DOMAIN_RULE]
    if statistical and values.size >= ANOMALY_MIN_POINTS:
        results = [
            _context(series, ts, values, streams, upper_only=profile.upper_only)
            if m is AnomalyMethod.CONTEXT
            else METHODS[m](ts, values)
            for m in statistical
        ]  # fmt: skip
        ruled = {b.index for b in breaches}
        breaches += [
            b
            for b in _statistical_breaches(results, sensitivity.threshold, profile)
            if b.index not in ruled
        ]
    graded: list[tuple[_Breach, float]] = []
    if streams is not None:  # the live path's findings still graded by what comes after them
        graded = _still_graded(streams, series, ts, {b.index for b in breaches})
        breaches += [b for b, _worst_at in graded]
    clean = SeriesInput(series.cluster, series.metric, series.labels, ts, values,
                        judged_until=series.judged_until)  # fmt: skip
    hold = 0.0 if profile.type is SignalType.GPU_EVENT else RULE_HOLD_S  # an event is news
    episodes = [e for e in _episodes(breaches, ts, hold) if _believed(e)]
    # a percentage's move in points: declared one (the catalog's unit, --unit %), or guessed
    # from its name and no fraction (``_fraction``); a fraction 0-1 guessed one, in its
    # percentage's points
    points_per_unit = None
    if profile.unit == "%":
        declared = unit is not None and unit.lower() in {"%", "percent"}
        points_per_unit = 100.0 if not declared and _fraction(values) else 1.0
    through = _graded_through(episodes, values.size)
    if streams is None:
        spans = list(series.episodes)
        return [
            _describe(
                clean,
                e,
                sensitivity,
                profile,
                len(statistical),
                streaming=False,
                began=_began(clean, e, spans),
                judged=judged,
                points_per_unit=points_per_unit,
                through=last,
            )
            for e, last in zip(episodes, through, strict=True)
        ]
    describe = partial(_describe, sensitivity=sensitivity, profile=profile,
                       methods=len(statistical), streaming=True,
                       judged=judged, points_per_unit=points_per_unit)  # fmt: skip
    reported = {b.index: worst_at for b, worst_at in graded}
    return _live_episodes(clean, series.episodes, episodes, streams, describe,
                          through=through, reported=reported)  # fmt: skip


def _began(
    series: SeriesInput,
    episode: list[_Breach],
    spans: Sequence[tuple[float, float]],
    *,
    anywhere: bool = False,
) -> float | None:
    """Where an episode that reaches back to the start of what was read (its first breach
    within EPISODE_GAP points of it) began: the start of an episode found before that
    covered that moment (it was going on before the read began: the same breach, not a new
    anomaly each time the read moves); None: at its own first point. ``anywhere``: the live
    path, whose detector judges a sample once: an episode found in an earlier round is not
    in this round's breaches, and one that begins within EPISODE_GAP points of its last
    breach goes on with it wherever it is (as one batch over the same samples groups them)."""
    if (episode[0].index > EPISODE_GAP and not anywhere) or not spans:
        return None
    at = float(series.ts[episode[0].index])
    return min((s for s, e in spans if s <= at <= e + _slack(series)), default=None)


def _slack(series: SeriesInput) -> float:
    """How far past its last breach an episode still goes on: it may pause EPISODE_GAP
    points (at the series' step)."""
    return (EPISODE_GAP + 1) * float(np.median(np.diff(series.ts))) if series.ts.size > 1 else 0


def _live_episodes(
    series: SeriesInput,
    stored: Sequence[tuple[float, float]],
    episodes: list[list[_Breach]],
    streams: StreamScorers,
    describe: Callable[..., Anomaly],
    *,
    through: list[int],
    reported: dict[int, float],
) -> list[Anomaly]:
    """The live path's episodes: one that begins within EPISODE_GAP points of an episode
    found last round, or in the store (``stored``: a new detector, after a restart, has no
    last round), goes on with it (keeps its start: its identity). Kept for the next round:
    the spans of every episode in this round's window (the window slides past an episode's
    first sample while the rest of it can still be seen), and those of earlier rounds that
    a next breach may still go on with (a sample is judged once: an episode of the
    detector's is in no later round's breaches); and the detector's breaches still in their
    quiet period, whose episode the next round grades again (``_still_graded``;
    ``reported``: where in this read each of those is, and its worst point last reported:
    found again, it is reported again only where it moved further)."""
    key = _stream_key(series)
    before = [*streams.episode_spans.pop(key, []), *stored]
    out: list[Anomaly] = []
    spans: dict[float, float] = {}
    known = {s for s, _e in before}
    grading: list[_Graded] = []
    for episode, last_graded in zip(episodes, through, strict=True):
        began = _began(series, episode, before, anywhere=True)
        found = describe(series, episode, began=began, through=last_graded)
        if _judged_before(series, episode, found, known):
            continue
        worst_at = found.timestamp.timestamp()
        if episode[-1].index + QUIET >= series.values.size:  # its quiet period goes on
            grading += [(float(series.ts[b.index]), b, worst_at)
                        for b in episode if b.tail is not None]  # fmt: skip
        if found.started_at is not None:
            start, last = found.started_at.timestamp(), float(series.ts[episode[-1].index])
            spans[start] = max(last, spans.get(start, last))
        if any(reported.get(b.index) == worst_at for b in episode):
            continue  # graded again as it was reported: nothing new
        out.append(found)
    newest = float(series.ts[-1]) - _slack(series)
    for start, last in before:
        if last >= newest and start not in spans:  # a breach after this round may join it
            spans[start] = last
    if spans:
        streams.episode_spans[key] = sorted(spans.items())
    if grading:
        streams.graded[key] = grading
    return out


def _still_graded(
    streams: StreamScorers, series: SeriesInput, ts: np.ndarray, taken: set[int]
) -> list[tuple[_Breach, float]]:
    """The detector's breaches of ``series`` found in earlier rounds whose quiet period the
    last round had not read to its end, at their place in this read (a sample is judged
    once: they are in no later round's scores), so the episode is graded again by the
    samples that came since, each with its worst point last reported; the store keeps the
    worse finding of an episode, an earlier finding is never changed. Each is taken once:
    the round keeps those still in their quiet period again (``_live_episodes``)."""
    kept: list[_Graded] = streams.graded.pop(_stream_key(series), [])
    found = []
    for at, breach, worst_at in kept:
        index = int(np.searchsorted(ts, at))
        if index < ts.size and ts[index] == at and index not in taken:
            found.append((replace(breach, index=index), worst_at))
    return found


def _judged_before(
    series: SeriesInput, episode: list[_Breach], found: Anomaly, known: set[float]
) -> bool:
    """An episode that ended by ``series.judged_until`` and is none found before (its start
    not a known episode's): judged, and not found, when its samples arrived."""
    if series.judged_until is None or float(series.ts[episode[-1].index]) > series.judged_until:
        return False
    return found.started_at is None or found.started_at.timestamp() not in known


def _stream_key(series: SeriesInput) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """A series as the live path's kept state names it."""
    return series.cluster, series.metric, tuple(sorted(series.labels.items()))


def forget_streams(owner: str) -> int:
    """Drop an owner's live detectors (its service closed); how many there were."""
    return len(_LIVE_STREAMS.pop(owner, ()))


def take_declined(owner: str) -> tuple[int, int]:
    """(how many series ``owner``'s live detectors declined since it last asked, their limit):
    those series are judged by no detector. Asked where the detectors are kept (the worker)."""
    streams = _LIVE_STREAMS.get(owner)
    if streams is None:
        return 0, MAX_SERIES
    return streams.take_declined(), streams.max_series


def detect_all(
    inputs: Sequence[SeriesInput],
    sensitivity: Sensitivity,
    methods: tuple[AnomalyMethod, ...] | None,
    unit: str | None,
    stream: str | None = None,
    *,
    xids: Mapping[int, XidInfo] | None = None,
) -> list[Anomaly]:
    """``detect_anomalies`` over many series: what a detection worker runs, in a thread or in
    its own process (a module-level function, so it can be sent). Every series, however
    short: the domain rules need no history (a clock in FREERUN over 5 minutes), and the
    statistics skip a series under ANOMALY_MIN_POINTS (its detector is not fed until then).
    ``stream``: the live path's owner: each series' detector is kept in the worker between
    calls (under that owner) and judges only the samples it has not seen. ``xids``: the XID
    table (``detect_anomalies``)."""
    found: list[Anomaly] = []
    streams = _LIVE_STREAMS.setdefault(stream, StreamScorers()) if stream else None
    for series in inputs:
        found += detect_anomalies(series, sensitivity=sensitivity, methods=methods, unit=unit,
                                  streams=streams, xids=xids)  # fmt: skip
    return found
