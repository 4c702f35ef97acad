"""Causal anomaly detectors: one sample at a time, no look-ahead; batch = the same loop."""

from analysis.detectors.base import StreamingDetector, run_batch
from analysis.detectors.context import ContextNoveltyDetector
from analysis.detectors.robust import RobustLikelihoodDetector

__all__ = ["ContextNoveltyDetector", "RobustLikelihoodDetector", "StreamingDetector", "run_batch"]
