"""The detector contract: ``update`` sees one sample and returns a score in [0, 1]."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


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
