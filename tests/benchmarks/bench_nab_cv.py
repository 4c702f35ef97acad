"""`make bench-nab-cv`: is the app's detector chosen so it generalises? Leave one category group
out (artificial, realAWSCloudwatch, realKnownCause), choose the configuration *and* the
threshold on the other two, score the left-out group with them; repeat for each group. Nested
as well: the configuration chosen, within each fold's training groups, by its own left-out
score there (``_report_nested``).

The candidates are the default and each of its constants moved one step either way (the
sensitivity analysis of issue 17); a constant whose non-default value wins on a fold's
training part is reported, and the default is kept only where the folds agree. Prints, per
profile: the in-sample score (default, threshold chosen on every file), each fold's left-out
score and the pooled left-out score (every left-out file scored at its own fold's choices).
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


import numpy as np

from analysis.detectors import ContextNoveltyDetector
from analysis.detectors.live import PROBATION, StreamScorers
from analysis.nab import (
    FileScores,
    Profile,
    best_threshold,
    normalised,
    score_at_threshold,
    score_file,
)
from tests.benchmarks.bench_nab import epoch
from tests.benchmarks.nab_corpus import (
    DEFAULT_NAB_DIR,
    CorpusError,
    CorpusFile,
    load_corpus,
    load_profiles,
)

GROUPS = ("artificial", "realAWSCloudwatch", "realKnownCause")
#: one step either way from the default for each constant (None: the default itself)
STEPS: dict[str, tuple[Any, Any]] = {
    "avg": (4, 12),
    "onset": (50, 200),
    "quiet": (10, 40),
    "fire": (0.4, 0.6),
    "spatial": (0.0, 0.05),
    "warm_up": (100, 300),
    "daily_rare": (0.02, 0.1),
    "shrink": (0.125, 0.5),
    "orders": ((1, 2, 3, 4), (1, 2, 3, 4, 5, 6, 7, 8)),
    "probation": (0, 375),  # the app's, not the detector's: samples never reported
}


def candidates() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{}]
    for name, values in STEPS.items():
        out += [{name: v} for v in values]
    return out


def group_of(key: str) -> str:
    category = key.split("/", maxsplit=1)[0]
    return "artificial" if category.startswith("artificial") else category


def _run(args: tuple[dict[str, Any], list[CorpusFile]]) -> dict[str, list[float]]:
    config, corpus = args
    detector = {k: v for k, v in config.items() if k != "probation"}
    probation = config.get("probation", PROBATION)
    out = {}
    for f in corpus:  # the app's own path (its probation too), with this configuration
        streams = StreamScorers(1, lambda: ContextNoveltyDetector(**detector), probation)
        ts = np.array([epoch(t) for t in f.timestamps])
        out[f.key] = np.nan_to_num(streams.scores(None, ts, np.array(f.values))).tolist()
    return out


def label(config: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in config.items()) or "default"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nab-dir", type=Path, default=DEFAULT_NAB_DIR)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        corpus = load_corpus(args.nab_dir)
    except (CorpusError, OSError, ValueError) as exc:
        print(f"{args.nab_dir}: not a corpus in NAB's layout: {exc}", file=sys.stderr)
        return 2
    profiles = load_profiles(args.nab_dir)
    configs = candidates()
    with ProcessPoolExecutor(args.jobs) as pool:
        runs = list(pool.map(_run, [(c, corpus) for c in configs]))
    print(f"{len(configs)} configurations over {len(corpus)} files: "
          f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
    for profile in profiles:
        scored = [{f.key: score_file(r[f.key], f.windows, profile) for f in corpus} for r in runs]
        _report(profile, corpus, configs, scored)
        _report_short(profile, corpus, runs[0])
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


def _report(
    profile: Profile,
    corpus: list[CorpusFile],
    configs: list[dict[str, Any]],
    scored: list[dict[str, FileScores]],
) -> None:
    every = [f.key for f in corpus]
    default = [scored[0][k] for k in every]
    _, raw = best_threshold(default, profile)
    print(f"\n== {profile.name}: in-sample (default, threshold on every file) "
          f"{normalised(raw, default, profile):.2f}")  # fmt: skip
    pooled_raw, pooled_files = 0.0, []
    kept_raw, kept_files = 0.0, []
    for left in GROUPS:
        train = [k for k in every if group_of(k) != left]
        test = [k for k in every if group_of(k) == left]
        best = None
        for n in range(len(configs)):
            files = [scored[n][k] for k in train]
            t, r = best_threshold(files, profile)
            value = normalised(r, files, profile)
            if best is None or value > best[0]:
                best = (value, n, t)
        assert best is not None
        _, n, t = best
        test_files = [scored[n][k] for k in test]
        test_raw = score_at_threshold(test_files, profile, t)
        default_files = [scored[0][k] for k in test]
        default_thr, _ = best_threshold([scored[0][k] for k in train], profile)
        default_left = score_at_threshold(default_files, profile, default_thr)
        pooled_raw += test_raw
        pooled_files += test_files
        kept_raw += default_left
        kept_files += default_files
        print(f"  left out {left:<18} chosen [{label(configs[n])}] thr {t:.4f}: "
              f"{normalised(test_raw, test_files, profile):6.2f}   "
              f"(default config, its training threshold: "
              f"{normalised(default_left, default_files, profile):6.2f})")  # fmt: skip
    print(f"  pooled left-out score: {normalised(pooled_raw, pooled_files, profile):.2f} "
          f"(default config, only the threshold chosen per fold: "
          f"{normalised(kept_raw, kept_files, profile):.2f})")  # fmt: skip
    _report_nested(profile, every, configs, scored)


def _report_nested(
    profile: Profile,
    every: list[str],
    configs: list[dict[str, Any]],
    scored: list[dict[str, FileScores]],
) -> None:
    """Nested: within each fold's training groups, a configuration is chosen by its own
    left-out score there (each training group scored at the threshold chosen on the other),
    not by how well it fits them all; then its threshold is chosen on both and the fold's
    left-out group scored. Choosing by in-sample fit picked a candidate per fold that did
    worse left out than the default each time (the figure above)."""

    def raw_at(n: int, fit: list[str], test: list[str]) -> tuple[float, list[FileScores]]:
        t, _ = best_threshold([scored[n][k] for k in fit], profile)
        files = [scored[n][k] for k in test]
        return score_at_threshold(files, profile, t), files

    pooled_raw, pooled_files = 0.0, []
    for left in GROUPS:
        inside = [g for g in GROUPS if g != left]
        best: tuple[float, int] | None = None
        for n in range(len(configs)):  # the default first: a tie keeps it
            raw, files = 0.0, []
            for inner in inside:
                fit = [k for k in every if group_of(k) in inside and group_of(k) != inner]
                r, f = raw_at(n, fit, [k for k in every if group_of(k) == inner])
                raw, files = raw + r, files + f
            value = normalised(raw, files, profile)
            if best is None or value > best[0]:
                best = (value, n)
        assert best is not None
        n = best[1]
        train = [k for k in every if group_of(k) != left]
        raw, files = raw_at(n, train, [k for k in every if group_of(k) == left])
        pooled_raw, pooled_files = pooled_raw + raw, pooled_files + files
        print(f"  nested: left out {left:<18} chosen [{label(configs[n])}] "
              f"(inner left-out {best[0]:.2f}): {normalised(raw, files, profile):6.2f}")  # fmt: skip
    print(f"  nested pooled left-out score: {normalised(pooled_raw, pooled_files, profile):.2f}")


#: a young series (a new pod's) is short: the development files cut to their first rows
SHORT_ROWS = (1600, 2500)


def _report_short(
    profile: Profile, corpus: list[CorpusFile], default: dict[str, list[float]]
) -> None:
    """The default configuration on the development files cut to their first SHORT_ROWS rows
    (NAB's probation and windows recomputed for the cut file, threshold swept on them): how
    the detector does in a series' first days, which the whole files' scores hardly see
    (their probation is 750 rows)."""
    parts = []
    for rows in SHORT_ROWS:
        files = []
        for f in corpus:
            n = min(rows, len(f.values))
            windows = [(a, min(b, n - 1)) for a, b in f.windows if a < n]
            files.append(score_file(default[f.key][:n], windows, profile))
        _, raw = best_threshold(files, profile)
        parts.append(f"{rows:,} rows {normalised(raw, files, profile):.2f}")
    print(f"  short series (development files cut, default config): {', '.join(parts)}")


if __name__ == "__main__":
    raise SystemExit(main())
