"""Context novelty: has this value been seen after these values (or at this hour) before?

Causal and label-free, one configuration for every stream (the NAB rules). The idea is the one
behind HTM and CAD-OSE, done with plain sets:

1. symbols: each value is quantised at two resolutions (5 and 10 bins) over the range seen so
   far; when a value leaves that range by more than ``grow`` of its span the bins are redrawn
   and the retained history (``keep`` samples) is replayed, so contexts stay consistent;
2. raw novelty: the share of features never seen before, where a feature is "this symbol after
   these 1..6 symbols" at each resolution, plus "this coarse symbol at this hour of day" (a
   pattern that breaks its daily shape is novel even when every value is ordinary);
3. likelihood: the mean raw novelty of the last ``avg`` samples against the distribution of
   that mean over the last ``hist`` samples (re-estimated every 100); its Gaussian tail on a log
   scale is the score, as in Numenta's anomaly likelihood, so a stream that is always novel
   (noise) stops scoring high;
4. spatial: a value beyond the range seen so far by more than ``spatial`` of its span scores 1;
5. onset gating: a score is passed on only when it beats every score of the last ``onset``
   samples, so an episode yields one early detection instead of a run of false positives.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from analysis.detectors.base import log_tail_score

ESTIMATE_EVERY = 100


Symbol = tuple[int, ...]


class ContextNoveltyDetector:
    def __init__(
        self,
        *,
        resolutions: tuple[int, ...] = (5, 10),
        orders: tuple[int, ...] = (1, 2, 3, 4, 5, 6),
        hour_resolution: int = 5,
        warm_up: int = 150,
        avg: int = 7,
        hist: int = 8640,
        spatial: float = 0.01,
        log_floor: float = 1e-20,
        onset: int = 100,
        keep: int = 5000,
        grow: float = 0.1,
    ) -> None:
        self.resolutions = resolutions
        self.orders = orders
        self._hour_bins = [r == hour_resolution for r in resolutions]
        self.warm_up = warm_up
        self.spatial = spatial
        self.log_floor = log_floor
        self.grow = grow
        self._kept: deque[tuple[float, float]] = deque(maxlen=keep)
        self._context: deque[Symbol] = deque(maxlen=max(orders))
        self._seen: set[tuple[object, ...]] = set()
        self._widths: list[float] | None = None
        self._lo = self._hi = 0.0
        self._min = math.inf
        self._max = -math.inf
        self._recent: deque[float] = deque(maxlen=avg)
        self._means: deque[float] = deque(maxlen=hist)
        self._stats: tuple[float, float] | None = None
        self._scores: deque[float] = deque(maxlen=onset)
        self._n = 0

    # -- symbols and novelty -------------------------------------------------------------------
    def _symbol(self, x: float) -> Symbol:
        assert self._widths is not None
        return tuple(
            min(r - 1, max(0, int((x - self._lo) / w)))
            for r, w in zip(self.resolutions, self._widths, strict=True)
        )

    def _novelty(self, symbol: Symbol, timestamp: float) -> float:
        """Share of this sample's features never seen before (and learn them)."""
        history = self._context
        n = len(history)
        missing = total = 0
        for order in self.orders:
            for r in range(len(self.resolutions)):
                total += 1
                if n < order:
                    missing += 1
                    continue
                feature: tuple[object, ...] = (
                    order,
                    r,
                    tuple(history[n - order + i][r] for i in range(order)),
                    symbol[r],
                )
                if feature not in self._seen:
                    missing += 1
                    self._seen.add(feature)
        hour = int((timestamp % 86400) // 3600)
        for r, by_hour in enumerate(self._hour_bins):
            if by_hour:
                total += 1
                feature = ("hour", r, hour, symbol[r])  # same tuple[object, ...] set
                if feature not in self._seen:
                    missing += 1
                    self._seen.add(feature)
        history.append(symbol)
        return missing / total

    def _redraw_bins(self) -> None:
        span = self._hi - self._lo
        if span <= 0:
            span = max(abs(self._hi) * 0.2, 1e-9)
        self._widths = [span / r for r in self.resolutions]
        self._seen.clear()
        self._context.clear()
        for t, v in self._kept:
            self._novelty(self._symbol(v), t)

    # -- the score -----------------------------------------------------------------------------
    def _likelihood(self, mean: float) -> float:
        if self._stats is None:
            return 0.0
        z = (mean - self._stats[0]) / self._stats[1]
        if z <= 0:
            return 0.0
        return log_tail_score(z, self.log_floor)

    def _spatial(self, x: float) -> bool:
        if not self._max > self._min:
            return False
        tolerance = (self._max - self._min) * self.spatial
        return x > self._max + tolerance or x < self._min - tolerance

    def _raw_score(self, timestamp: float, x: float) -> float:
        self._n += 1
        spatial = self._spatial(x)
        self._min, self._max = min(self._min, x), max(self._max, x)
        if self._widths is None:
            self._kept.append((timestamp, x))
            if self._n >= self.warm_up:
                self._lo, self._hi = self._min, self._max
                self._redraw_bins()
            return 0.0
        span = self._hi - self._lo
        if x < self._lo - self.grow * span or x > self._hi + self.grow * span:
            self._lo, self._hi = min(self._lo, x), max(self._hi, x)
            self._redraw_bins()
        self._kept.append((timestamp, x))
        self._recent.append(self._novelty(self._symbol(x), timestamp))
        mean = sum(self._recent) / len(self._recent)
        score = self._likelihood(mean)
        self._means.append(mean)
        if len(self._means) >= ESTIMATE_EVERY and (
            self._stats is None or self._n % ESTIMATE_EVERY == 0
        ):
            history = np.fromiter(self._means, dtype=np.float64, count=len(self._means))
            self._stats = (float(history.mean()), max(float(history.std()), 1e-3))
        return 1.0 if spatial else score

    def update(self, timestamp: float, value: float) -> float:
        score = self._raw_score(float(timestamp), float(value))
        onset = not self._scores or score > max(self._scores)
        self._scores.append(score)
        return score if onset else 0.0
