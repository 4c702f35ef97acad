"""The Numenta Anomaly Benchmark scorer, implemented from NAB's rules (numenta/NAB, MIT).

Pure computation on what it is handed: per file the anomaly scores (one per row, in order),
the labelled windows as row-index ranges, and a cost profile. Matches NAB's sweeper:

- probation: the first floor(min(floor(0.15 * rows), 0.15 * 5000)) rows are not scored;
- inside a window only the earliest detection counts, rewarded by the scaled sigmoid of its
  relative position (earlier is better), a missed window costs the FN weight;
- a detection outside windows costs the FP weight times the scaled sigmoid of its distance after
  the previous window (-1 before the first window);
- the threshold maximising the corpus total is chosen by sweeping every distinct score;
- normalised = 100 * (S - S_null) / (S_perfect - S_null).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PROBATION_PERCENT = 0.15


@dataclass(frozen=True)
class Profile:
    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float


@dataclass(frozen=True)
class ScoredPoint:
    """A scored (post-probation) row: its anomaly score, its sweep score and its window."""

    anomaly_score: float
    sweep_score: float
    window: int | None  # index of the window it lies in, None outside windows


@dataclass(frozen=True)
class FileScores:
    points: list[ScoredPoint]
    windows: int  # scored windows (the ones not entirely in probation)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def scaled_sigmoid(relative_position: float) -> float:
    if relative_position > 3.0:
        return -1.0  # a false positive well after the window
    return 2.0 * sigmoid(-5.0 * relative_position) - 1.0


def probation_rows(rows: int) -> int:
    return math.floor(min(math.floor(PROBATION_PERCENT * rows), PROBATION_PERCENT * 5000))


def score_file(
    scores: Sequence[float], windows: Sequence[tuple[int, int]], profile: Profile
) -> FileScores:
    """``windows``: inclusive (first row, last row) per labelled window, in time order."""
    rows = len(scores)
    probation = probation_rows(rows)
    max_tp = scaled_sigmoid(-1.0)
    window_of: list[int | None] = [None] * rows
    for w, (first, last) in enumerate(windows):
        for i in range(first, last + 1):
            window_of[i] = w
    points: list[ScoredPoint] = []
    prev_right: int | None = None
    prev_width = 0
    for i in range(rows):
        win = window_of[i]
        if win is not None:
            first, last = windows[win]
            width = float(last - first + 1)
            position = -(last - i + 1) / width
            sweep = scaled_sigmoid(position) * profile.tp_weight / max_tp
            if i == last:
                prev_right, prev_width = last, int(width)
        else:
            if prev_right is None:
                unweighted = -1.0
            else:
                # (NAB divides by the width less one: a one-row window would divide by 0)
                unweighted = scaled_sigmoid(abs(prev_right - i) / float(max(prev_width - 1, 1)))
            sweep = unweighted * profile.fp_weight
        if i >= probation:
            points.append(ScoredPoint(float(scores[i]), sweep, win))
    scored_windows = sum(1 for first, last in windows if last >= probation)
    return FileScores(points, scored_windows)


def _windows_in(points: Iterable[ScoredPoint]) -> set[int]:
    return {p.window for p in points if p.window is not None}


def score_at_threshold(files: Sequence[FileScores], profile: Profile, threshold: float) -> float:
    total = 0.0
    for f in files:
        best: dict[int, float] = {}
        fp = 0.0
        for p in f.points:
            if p.anomaly_score < threshold:
                continue
            if p.window is None:
                fp += p.sweep_score
            else:
                best[p.window] = max(best.get(p.window, -math.inf), p.sweep_score)
        missed = f.windows - len(best)
        total += fp + sum(best.values()) - missed * profile.fn_weight
    return total


def best_threshold(files: Sequence[FileScores], profile: Profile) -> tuple[float, float]:
    """(threshold, raw score) maximising the corpus total: one sweep over all distinct scores.

    Points are visited from the highest anomaly score down; at each distinct score the running
    total (FPs added, each window's best TP kept) is the total for that threshold.
    """
    events: list[tuple[float, int, ScoredPoint]] = [
        (p.anomaly_score, n, p) for n, f in enumerate(files) for p in f.points
    ]
    events.sort(key=lambda e: -e[0])
    windows_total = sum(f.windows for f in files)
    fp_total = 0.0
    best_tp: dict[tuple[int, int], float] = {}
    best = (1.1, -windows_total * profile.fn_weight)  # above every score: the null detector
    i = 0
    while i < len(events):
        threshold = events[i][0]
        while i < len(events) and events[i][0] == threshold:
            _, n, p = events[i]
            if p.window is None:
                fp_total += p.sweep_score
            else:
                key = (n, p.window)
                best_tp[key] = max(best_tp.get(key, -math.inf), p.sweep_score)
            i += 1
        score = (
            fp_total + sum(best_tp.values()) - (windows_total - len(best_tp)) * profile.fn_weight
        )
        if score > best[1]:
            best = (threshold, score)
    return best


def normalised(raw: float, files: Sequence[FileScores], profile: Profile) -> float:
    windows = sum(f.windows for f in files)
    null = -profile.fn_weight * windows
    perfect = profile.tp_weight * windows
    return 100.0 * (raw - null) / (perfect - null)
