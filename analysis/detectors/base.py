"""The detector contract: ``update`` sees one sample and returns a score in [0, 1]."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np

MAD_TO_SIGMA = 1.4826  # MAD x this estimates the standard deviation of normal data


class StreamingDetector(Protocol):
    def update(self, timestamp: float, value: float) -> float:
        """Score of this sample given only the past (0 normal ... 1 certainly anomalous)."""
        ...


def run_batch(
    detector: StreamingDetector, timestamps: Sequence[float], values: Sequence[float]
) -> np.ndarray:
    """Stored history through the same causal loop, so batch answers equal streaming ones."""
    return np.fromiter(
        (detector.update(float(t), float(v)) for t, v in zip(timestamps, values, strict=True)),
        dtype=np.float64,
        count=len(values),
    )


def log_tail_score(z: float, floor: float) -> float:
    """Numenta's anomaly likelihood on a log scale: the Gaussian tail P(X > z), where a tail of
    ``floor`` (or less) scores 1.0 and a tail of 1 scores 0."""
    tail = 0.5 * math.erfc(z / math.sqrt(2.0))
    return min(1.0, math.log(tail + floor) / math.log(floor))
