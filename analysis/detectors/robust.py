"""Multi-scale robust z-score, anomaly likelihood and onset gating: causal and label-free.

1. raw score: the larger of two robust z-scores against a trailing window (median and MAD, so
   an anomaly does not inflate the spread): the latest value, and the mean of the last ``k``
   values (scaled by sqrt(k), so level shifts and slow drifts stand out);
2. likelihood: the short-term mean raw score against the raw score's own long-run
   distribution; its Gaussian tail, on NAB's log scale (a tail of 1e-10 is 1.0), is the score,
   as in Numenta's anomaly likelihood: a stream that is always noisy stops scoring high;
3. onset gating: a score is passed on only when it beats every score of the last ``onset``
   samples, so an episode yields one early detection instead of a run of false positives.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from analysis.detectors.base import MAD_TO_SIGMA, log_tail_score

LOG_FLOOR = 1e-10


class RobustLikelihoodDetector:
    def __init__(
        self,
        *,
        window: int = 1000,
        k: int = 10,
        short: int = 3,
        long: int = 2000,
        onset: int = 300,
        min_points: int = 30,
    ) -> None:
        self.min_points = min_points
        self._values: deque[float] = deque(maxlen=window)
        self._recent: deque[float] = deque(maxlen=k)
        self._short: deque[float] = deque(maxlen=short)
        self._raw: deque[float] = deque(maxlen=long)
        self._scores: deque[float] = deque(maxlen=onset)

    def _raw_score(self, x: float) -> float:
        if len(self._values) < self.min_points:
            return 0.0
        history = np.fromiter(self._values, dtype=np.float64, count=len(self._values))
        median = float(np.median(history))
        mad = float(np.median(np.abs(history - median))) * MAD_TO_SIGMA
        spread = mad if mad > 1e-12 else float(np.std(history)) or 1e-12
        point = abs(x - median) / spread
        level = abs(sum(self._recent) / len(self._recent) - median) / spread
        return math.log1p(max(point, level * math.sqrt(len(self._recent))))

    def _likelihood(self) -> float:
        if len(self._raw) < self.min_points:
            return 0.0
        history = np.fromiter(self._raw, dtype=np.float64, count=len(self._raw))
        std = float(history.std()) or 1e-6
        short_mean = sum(self._short) / len(self._short)
        return log_tail_score((short_mean - float(history.mean())) / std, LOG_FLOOR)

    def update(self, timestamp: float, value: float) -> float:
        x = float(value)
        self._recent.append(x)
        raw = self._raw_score(x)
        self._values.append(x)
        self._short.append(raw)
        score = self._likelihood()
        self._raw.append(raw)
        onset = not self._scores or score > max(self._scores)
        self._scores.append(score)
        return score if onset else 0.0
