"""The detector the app runs on every polled series, as `make bench-nab` scores it.

One configuration (``ContextNoveltyDetector()``'s defaults) and one reporting threshold,
``DETECTION_SCORE``: where the standard NAB profile's total is best on the development
subset. The sweep picks a score that occurs (0.508271: report at that score and above); the
threshold sits halfway to the next lower score that occurs there (0.503439), so no rounding
drops the detection the sweep counted: 0.5143, an earlier sweep's 0.514281 rounded up, did
(74.09 became 72.40; README, "Anomaly detection"). The score is Numenta's anomaly likelihood
on a log scale: a score ``s`` stands for a Gaussian tail probability of about
``LOG_FLOOR ** s``, so it converts to a z-equivalent and a severity without a new constant.

``StreamScorers`` keeps one detector per series between calls: each call feeds only the
samples newer than the last one fed, so a series polled every 15 s costs one update per new
sample, and what a batch over the same samples would say is what the stream says.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Hashable
from statistics import NormalDist
from typing import Any

import numpy as np

from aiops_desktop.models.enums import AnomalySeverity
from analysis.detectors.context import ContextNoveltyDetector

log = logging.getLogger("aiops.analysis.live")

DETECTION_SCORE = 0.5059  # make bench-nab's standard-profile threshold (see above)
LOG_FLOOR = 1e-20  # ContextNoveltyDetector's log_floor: a score of 1 is a tail of 1e-20
#: the most one detector holds (the default configuration): its kept values (5,000 float64),
#: its two likelihoods' histories (8,640 float32 each), at most two generations of 32,768
#: sequence features (int32) and a set of up to 512 new ones; 431 KiB measured with all of
#: them at their most (tests/qtfree/test_context_detector_review.py). A young series' holds
#: far less: the rings grow as samples come
DETECTOR_BYTES = 440 * 1024
#: what the detection worker's kept detectors may take together (they could take 3.3 GiB:
#: 0.7 MB a detector at the former cap of 5,000 series; the window's own process stays under
#: 600 MB at fleet scale)
DETECTORS_BUDGET = 1 << 30
#: detectors kept: as many as the budget holds at their most (2,383; `make bench-live`'s
#: fleet scale is 2,000 series)
MAX_SERIES = DETECTORS_BUDGET // DETECTOR_BYTES
#: a full set makes room for a new series only by dropping one not fed for this long (its pod
#: gone, its panel no longer polled): series that are still fed are never dropped for new
#: ones, which would make every series learn again each cycle and none ever report
STALE_S = 3600.0
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
DETECTION_TAIL = tail_of(DETECTION_SCORE)  # about 7.6e-11
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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``factory``: the detector of a new series and ``probation`` its samples never
        reported (the one configuration; the cross-validation bench tries others)."""
        self._max = max_series
        self._probation = probation
        self._factory = factory
        self._clock = clock
        #: key -> (its detector, the last sample's time, samples fed, when it was last fed)
        self._streams: dict[Hashable, tuple[ContextNoveltyDetector, float, int, float]] = {}
        self.declined = 0  # calls for a new series while the set was full of fresh ones
        self._declined_taken = 0  # ``declined`` when ``take_declined`` last asked
        #: key -> (first, last sample time) of every episode its last round saw in its polled
        #: window. Rules judge the whole window again each round: an episode reaching back to
        #: the window's first sample is the one that covered that moment last round, and
        #: keeps its start (its identity) while it can be seen (the window slides past a
        #: short one's first sample while the rest of it is still in the window)
        self.episode_spans: dict[Hashable, list[tuple[float, float]]] = {}
        #: key -> the detector's breaches whose episode is still graded by the samples after
        #: them (``analysis.detect``'s: each its time, itself, its worst point's time)
        self.graded: dict[Hashable, list[Any]] = {}

    def __len__(self) -> int:
        return len(self._streams)

    @property
    def max_series(self) -> int:
        """The most series followed: past it a new one is declined (judged by no detector)."""
        return self._max

    def take_declined(self) -> int:
        """The calls for a new series declined since the last ``take_declined``: after one
        detection call (it scores each series once), how many of its series no detector
        judges, for the app to say so (a log line alone said it)."""
        taken, self._declined_taken = self.declined - self._declined_taken, self.declined
        return taken

    def scores(
        self, key: Hashable, timestamps: np.ndarray, values: np.ndarray, *, upper_only: bool = False
    ) -> np.ndarray:
        """Scores of the samples newer than the last fed for ``key`` (NaN for the others: a
        sample is judged once, when it first arrives; 0 during the probation). A non-finite
        value or time is skipped, and so is a time not after the last judged (repeated, out
        of order). A new series while MAX_SERIES fresh ones are followed: all NaN."""
        out = np.full(values.size, np.nan)
        now = self._clock()
        kept = self._streams.pop(key, None)
        if kept is None:
            if len(self._streams) >= self._max and not self._make_room(now):
                if not self.declined:
                    log.warning("live detection follows %d series; more are not judged until "
                                "one is no longer polled", self._max)  # fmt: skip
                self.declined += 1
                return out
            made = self._factory()
            made.upper_only = upper_only  # a new series' variant (its type's; see context.py)
            kept = (made, -math.inf, 0, now)
        detector, last, seen, fed = kept
        before = seen
        try:
            for i in np.flatnonzero(timestamps > last):
                at, value = float(timestamps[i]), float(values[i])
                if not (math.isfinite(at) and math.isfinite(value)) or at <= last:
                    continue  # a gap, or a time already judged (repeated, out of order)
                score = detector.update(at, value)  # any finite value: context.py clamps
                seen += 1
                out[i] = score if seen > self._probation else 0.0
                last = at
        finally:  # put back whatever happens: a series' detector is never lost
            # last fed: now only if a sample was (a series whose exporter went away is still
            # offered its old samples while they stay in the polled window: it is not fed)
            self._streams[key] = (detector, last, seen, now if seen > before else fed)
        return out

    def _make_room(self, now: float) -> bool:
        """Drop the least recently fed series if it has not been fed for STALE_S."""
        if not self._streams:
            return False
        key = min(self._streams, key=lambda k: self._streams[k][3])
        if now - self._streams[key][3] < STALE_S:
            return False
        del self._streams[key]
        self.episode_spans.pop(key, None)
        self.graded.pop(key, None)
        return True


def score_series(
    timestamps: np.ndarray, values: np.ndarray, *, upper_only: bool = False
) -> np.ndarray:
    """A fresh detector over a whole series (a one-off analysis of stored history): the same
    loop as a stream, so batch = streaming."""
    return StreamScorers(1).scores(None, timestamps, values, upper_only=upper_only)
