"""`make bench-nab`: run detectors over a NAB-layout corpus, write NAB results, score them.

Each file is fed one record at a time (no look-ahead, one configuration for the whole corpus,
no labels seen by the detector); results go to <out>/<detector>/<category>/<detector>_<file>.csv
(timestamp, value, anomaly_score); the scorer optimises the threshold over the corpus per
profile and prints the normalised scores and the wall time.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np

from aiops_desktop.models.enums import AnomalyMethod
from analysis.detect import SeriesInput, detect_anomalies
from analysis.detectors import ContextNoveltyDetector, RobustLikelihoodDetector, StreamingDetector
from analysis.detectors.live import DETECTION_SCORE, StreamScorers
from analysis.nab import Profile, best_threshold, normalised, score_at_threshold, score_file
from tests.benchmarks.nab_corpus import (
    DEFAULT_NAB_DIR,
    CorpusError,
    CorpusFile,
    load_corpus,
    load_profiles,
    load_results,
)


class RiverHalfSpaceTrees:
    """The peer: river's streaming Half-Space Trees (a published library, bench extra only)."""

    def __init__(self) -> None:
        from river import anomaly, compose, preprocessing

        self._model = compose.Pipeline(
            preprocessing.MinMaxScaler(),
            anomaly.HalfSpaceTrees(seed=42),  # the library's defaults: the fairest comparison
        )

    def update(self, timestamp: float, value: float) -> float:
        sample = {"value": value}
        score = float(self._model.score_one(sample))  # score first: no look-ahead
        self._model.learn_one(sample)
        return score


class MethodAlone:
    """One of the classic methods (the live path before the benchmarked detector) alone, as
    the app ran it: ``detect_anomalies`` with that method only at the default sensitivity
    (its episodes, its "believed" rule); each anomaly scores 1 at its episode's first point,
    where a live run would first have flagged it, every other row 0. Each point is judged
    against its trailing window only (analysis/methods.py), so nothing looks ahead."""

    def __init__(self, method: AnomalyMethod) -> None:
        self.method = method

    def __call__(self) -> MethodAlone:
        return self

    def scores(self, timestamps: list[float], values: list[float]) -> list[float]:
        ts = np.array(timestamps)
        found = detect_anomalies(
            SeriesInput("nab", "value", {}, ts, np.array(values)), methods=(self.method,)
        )
        out = np.zeros(ts.size)
        for a in found:
            out[np.searchsorted(ts, (a.started_at or a.timestamp).timestamp())] = 1.0
        return out.tolist()


class AppDetector:
    """The app's live path exactly (analysis/detectors/live.py: its one configuration, its
    probation), fed one record at a time."""

    def __init__(self) -> None:
        self._streams = StreamScorers(1)

    def update(self, timestamp: float, value: float) -> float:
        score = self._streams.scores(None, np.array([timestamp]), np.array([value]))[0]
        return 0.0 if np.isnan(score) else float(score)


DETECTORS: dict[str, Callable[[], StreamingDetector] | MethodAlone] = {
    "aiops": AppDetector,
    "aiops_context": ContextNoveltyDetector,
    "aiops_robust": RobustLikelihoodDetector,
    "river_hst": RiverHalfSpaceTrees,
    "mad": MethodAlone(AnomalyMethod.MAD),
    "iqr": MethodAlone(AnomalyMethod.IQR),
    "level_shift": MethodAlone(AnomalyMethod.LEVEL_SHIFT),
    "ets": MethodAlone(AnomalyMethod.ETS),
    "stl": MethodAlone(AnomalyMethod.STL),
}
#: what one run prints side by side: the app's default, each classic method alone, the peer
DEFAULT_SET = ("aiops", "mad", "iqr", "level_shift", "ets", "stl", "river_hst")


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp()  # NAB stamps are UTC


def run_detector(
    name: str, factory: Callable[[], StreamingDetector], corpus: list[CorpusFile], out: Path
) -> tuple[dict[str, list[float]], float]:
    scores: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    for f in corpus:
        detector = factory()
        stamps = [epoch(t) for t in f.timestamps]
        if isinstance(detector, MethodAlone):
            scores[f.key] = detector.scores(stamps, f.values)
            continue
        scores[f.key] = [detector.update(t, v) for t, v in zip(stamps, f.values, strict=True)]
    elapsed = time.perf_counter() - t0
    for f in corpus:
        category, filename = f.key.split("/")
        target = out / name / category / f"{name}_{filename}"
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["timestamp", "value", "anomaly_score"])
            writer.writerows(zip(f.timestamps, f.values, scores[f.key], strict=True))
    return scores, elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nab-dir", type=Path, default=DEFAULT_NAB_DIR)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "nab")
    parser.add_argument("--detectors", default=",".join(DEFAULT_SET),
                        help=f"comma-separated, of {', '.join(DETECTORS)}")  # fmt: skip
    parser.add_argument("--published", type=Path, default=None,
                        help="NAB's results/ folder: score --published-names from it too, "
                        "at NAB's own thresholds (config/thresholds.json beside it)")  # fmt: skip
    parser.add_argument("--published-names", default="numenta,ARTime,contextOSE")
    args = parser.parse_args(argv)
    try:
        corpus = load_corpus(args.nab_dir)
    except (CorpusError, OSError, ValueError) as exc:
        print(f"{args.nab_dir}: not a corpus in NAB's layout: {exc}", file=sys.stderr)
        return 2
    profiles = load_profiles(args.nab_dir)
    records = sum(len(f.values) for f in corpus)
    print(f"NAB corpus {args.nab_dir}: {len(corpus)} files, {records:,} records, "
          f"{sum(len(f.windows) for f in corpus)} windows")  # fmt: skip
    for name in args.detectors.split(","):
        scores, elapsed = run_detector(name, DETECTORS[name], corpus, args.out)
        figures = []
        for profile in profiles:
            scored = [score_file(scores[f.key], f.windows, profile) for f in corpus]
            threshold, raw = best_threshold(scored, profile)
            if isinstance(DETECTORS[name], MethodAlone):  # its own decisions: no sweep
                threshold, raw = 1.0, score_at_threshold(scored, profile, 1.0)
            figures.append(
                f"{profile.name} {normalised(raw, scored, profile):.2f} (thr {threshold:.6f})"
            )
        print(f"{name}: " + " | ".join(figures) + f" | {elapsed:.1f} s")
        if name == "aiops":  # the threshold the app reports at, chosen on the dev subset
            print(f"{name} at the app's threshold: " + at_threshold(
                scores, corpus, profiles, {p.name: DETECTION_SCORE for p in profiles}))  # fmt: skip
    if args.published is not None:
        nab_thresholds = json.loads((args.published.parent / "config" / "thresholds.json")
                                    .read_text())  # fmt: skip
        for name in args.published_names.split(","):
            scores = {f.key: load_results(args.published / name, name, f.key) for f in corpus}
            chosen = {p.name: nab_thresholds[name][p.name]["threshold"] for p in profiles}
            print(f"{name} (published, at NAB's thresholds): "
                  + at_threshold(scores, corpus, profiles, chosen))  # fmt: skip
    return 0


def at_threshold(scores: dict[str, list[float]], corpus: list[CorpusFile],
                 profiles: list[Profile], chosen: dict[str, float]) -> str:  # fmt: skip
    """Each profile's normalised score at a threshold chosen elsewhere (not on this corpus:
    a held-out figure)."""
    figures = []
    for profile in profiles:
        scored = [score_file(scores[f.key], f.windows, profile) for f in corpus]
        raw = score_at_threshold(scored, profile, chosen[profile.name])
        figures.append(f"{profile.name} {normalised(raw, scored, profile):.2f} "
                       f"(thr {chosen[profile.name]:.4f})")  # fmt: skip
    return " | ".join(figures)


if __name__ == "__main__":
    raise SystemExit(main())
