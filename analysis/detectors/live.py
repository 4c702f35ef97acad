"""The detector the app runs on every polled series, as `make bench-nab` scores it.

One configuration (``ContextNoveltyDetector()``'s defaults) and one reporting threshold,
``DETECTION_SCORE``: where the standard NAB profile's total is best on the development
subset. The sweep picks a score that occurs (0.514281: report at that score and above); the
threshold sits halfway to the next lower score that occurs there (0.512077), so no rounding
drops the detection the sweep counted (0.5143 did: 74.09 became 72.40; README, "Anomaly
detection"). The score is Numenta's anomaly likelihood on a log scale: a score ``s``
stands for a Gaussian tail probability of about ``LOG_FLOOR ** s``, so it converts to a
z-equivalent and a severity without a new constant.

``StreamScorers`` keeps one detector per series between calls: each call feeds only the
samples newer than the last one fed, so a series polled every 15 s costs one update per new
sample, and what a batch over the same samples would say is what the stream says.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable
from statistics import NormalDist

import numpy as np

from aiops_desktop.models.enums import AnomalySeverity
from analysis.detectors.context import ContextNoveltyDetector

DETECTION_SCORE = 0.5132  # make bench-nab's standard-profile threshold (see above)
LOG_FLOOR = 1e-20  # ContextNoveltyDetector's log_floor: a score of 1 is a tail of 1e-20
MAX_SERIES = 20_000  # detectors kept; the least recently fed is dropped beyond this
#: NAB's probation (the most it takes: min(15 % of a file, 750 rows)): the benchmark never
#: scores a detector's first samples, so the app does not report them either (it learns)
PROBATION = 750


def tail_of(score: float) -> float:
    """The Gaussian tail probability a score stands for (1 for a score of 0)."""
    return float(LOG_FLOOR ** max(0.0, min(1.0, score)))


def z_of(score: float) -> float:
    """The one-sided z-equivalent of a score (0 for a score of 0; about 9.3 for 1)."""
    tail = tail_of(score)
    return 0.0 if tail >= 0.5 else -NormalDist().inv_cdf(tail)


DETECTION_Z = z_of(DETECTION_SCORE)
DETECTION_TAIL = tail_of(DETECTION_SCORE)  # about 5e-11
#: severity by how much rarer than the reporting threshold a finding is: a thousand times
#: rarer MEDIUM, a million times HIGH (CRITICAL is for domain rules only)
MEDIUM_BELOW = 1e-3
HIGH_BELOW = 1e-6


def severity_of_tail(tail: float) -> AnomalySeverity:
    if tail <= DETECTION_TAIL * HIGH_BELOW:
        return AnomalySeverity.HIGH
    if tail <= DETECTION_TAIL * MEDIUM_BELOW:
        return AnomalySeverity.MEDIUM
    return AnomalySeverity.LOW


class StreamScorers:
    """One detector per series, fed each sample once, in time order."""

    def __init__(
        self,
        max_series: int = MAX_SERIES,
        factory: Callable[[], ContextNoveltyDetector] = ContextNoveltyDetector,
        probation: int = PROBATION,
    ) -> None:
        """``factory``: the detector of a new series and ``probation`` its samples never
        reported (the one configuration; the cross-validation bench tries others)."""
        self._max = max_series
        self._probation = probation
        self._factory = factory
        #: key -> (its detector, the last sample's time, samples fed)
        self._streams: OrderedDict[Hashable, tuple[ContextNoveltyDetector, float, int]] = (
            OrderedDict()
        )

    def __len__(self) -> int:
        return len(self._streams)

    def scores(self, key: Hashable, timestamps: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Scores of the samples newer than the last fed for ``key`` (NaN for the others: a
        sample is judged once, when it first arrives; 0 during the probation). A non-finite
        value is skipped."""
        out = np.full(values.size, np.nan)
        detector, last, seen = self._streams.pop(key, (None, -math.inf, 0))
        if detector is None:
            detector = self._factory()
        for i in np.flatnonzero(timestamps > last):
            value = float(values[i])
            if math.isfinite(value):
                score = detector.update(float(timestamps[i]), value)
                seen += 1
                out[i] = score if seen > self._probation else 0.0
                last = float(timestamps[i])
        self._streams[key] = (detector, last, seen)
        while len(self._streams) > self._max:
            self._streams.popitem(last=False)
        return out


def score_series(timestamps: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A fresh detector over a whole series (a one-off analysis of stored history): the same
    loop as a stream, so batch = streaming."""
    return StreamScorers(1).scores(None, timestamps, values)
