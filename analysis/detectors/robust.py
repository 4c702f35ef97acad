"""Robust z-score with an anomaly-likelihood stage, causal and label-free.

1. raw score: the larger of two robust z-scores against a trailing window (median and MAD, so
   the anomaly itself does not inflate the spread): the value, and its first difference (level
   shifts and spikes);
2. likelihood: the mean raw score over a short window compared with the raw score's own
   long-run distribution (mean, standard deviation); the Gaussian tail of that comparison
   gives the final score, as in Numenta's anomaly likelihood. A stream that is always noisy
   stops scoring high; a change in behaviour scores close to 1.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

MAD_TO_SIGMA = 1.4826


def _tail(z: float) -> float:
    """P(X > z) for a standard normal."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


class RobustLikelihoodDetector:
    def __init__(
        self,
        window: int = 200,
        short: int = 6,
        long: int = 500,
        min_points: int = 30,
    ) -> None:
        self.window = window
        self.short = short
        self.long = long
        self.min_points = min_points
        self._values: deque[float] = deque(maxlen=window)
        self._diffs: deque[float] = deque(maxlen=window)
        self._raw: deque[float] = deque(maxlen=long)
        self._recent: deque[float] = deque(maxlen=short)
        self._prev: float | None = None

    @staticmethod
    def _robust_z(history: deque[float], x: float) -> float:
        arr = np.fromiter(history, dtype=np.float64, count=len(history))
        median = float(np.median(arr))
        mad = float(np.median(np.abs(arr - median))) * MAD_TO_SIGMA
        spread = mad if mad > 1e-12 else float(np.std(arr)) or 1e-12
        return abs(x - median) / spread

    def update(self, timestamp: float, value: float) -> float:
        x = float(value)
        diff = 0.0 if self._prev is None else x - self._prev
        self._prev = x
        raw = 0.0
        if len(self._values) >= self.min_points:
            raw = max(self._robust_z(self._values, x), self._robust_z(self._diffs, diff))
            raw = math.log1p(raw)  # tame heavy tails before the likelihood stage
        self._values.append(x)
        self._diffs.append(diff)
        self._recent.append(raw)
        score = 0.0
        if len(self._raw) >= self.min_points:
            history = np.fromiter(self._raw, dtype=np.float64, count=len(self._raw))
            mean, std = float(history.mean()), float(history.std()) or 1e-6
            short_mean = sum(self._recent) / len(self._recent)
            tail = _tail((short_mean - mean) / std)
            # NAB's log scale: a tail of 1e-10 or smaller is 1.0; ranks stay distinct below it
            score = min(1.0, math.log(tail + 1e-10) / math.log(1e-10))
        self._raw.append(raw)
        return score
