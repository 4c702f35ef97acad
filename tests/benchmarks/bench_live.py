"""`make bench-live`: what the live anomaly path costs at fleet scale, and the NAB corpus time.

2,000 series (the poll benchmark's fleet scale), each a 720-sample live buffer as the poller
keeps it, go through the app's own call (``analysis.detect.detect_all`` with a stream owner,
as the anomaly service's worker runs it): first the buffers once (every detector learns), then
one new sample per series per 15 s cycle. Prints the median CPU time of a cycle and its share
of the 15 s, the memory the kept detectors take per series (RSS growth over the warm-up, after
the buffers were built), and the time the app's detector takes over the NAB corpus at hand.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from aiops_desktop.models.enums import Sensitivity
from analysis.detect import SeriesInput, detect_all, forget_streams
from analysis.detectors.live import PROBATION, score_series
from tests.benchmarks.bench_nab import epoch
from tests.benchmarks.nab_corpus import DEFAULT_NAB_DIR, load_corpus

STEP_S = 15.0
BUFFER = 720
METRICS = ("node_cpu", "node_memory", "apiserver_p99", "network_rx", "gpu_util")


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fleet(series: int, samples: int, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = 1_700_000_000 + np.arange(samples) * STEP_S
    walk = rng.normal(0, 0.2, (series, samples)).cumsum(axis=1)
    daily = 10 * np.sin(2 * np.pi * ts / 86400.0)
    return ts, 50 + walk + daily + rng.normal(0, 1, (series, samples))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--nab-dir", type=Path, default=DEFAULT_NAB_DIR)
    args = parser.parse_args(argv)
    warm = PROBATION + 30  # past the probation: cycles judge (and report) like the live app
    ts, values = fleet(args.series, warm + args.cycles)
    keys = [(f"site-{i % 50}", METRICS[i % len(METRICS)], {"instance": f"n{i}"})
            for i in range(args.series)]  # fmt: skip

    def inputs(end: int) -> list[SeriesInput]:
        start = max(0, end - BUFFER)
        return [SeriesInput(c, m, labels, ts[start:end], values[i, start:end])
                for i, (c, m, labels) in enumerate(keys)]  # fmt: skip

    before = rss_mib()
    t0 = time.process_time()
    for end in range(BUFFER, warm + 1, BUFFER // 2):  # the warm-up, a buffer at a time
        detect_all(inputs(end), Sensitivity.MEDIUM, None, None, "bench")
    warm_cpu = time.process_time() - t0
    per_series_kib = (rss_mib() - before) * 1024 / args.series
    cycles = []
    found: Counter[str] = Counter()
    for end in range(warm + 1, warm + args.cycles + 1):
        batch = inputs(end)
        t = time.process_time()
        found.update(a.severity.value for a in detect_all(batch, Sensitivity.MEDIUM, None, None,
                                                          "bench"))  # fmt: skip
        cycles.append(time.process_time() - t)
    forget_streams("bench")
    cycle = statistics.median(cycles)
    print(f"live path, {args.series} series x {BUFFER}-sample buffers, one new sample each per "
          f"{STEP_S:.0f} s cycle:")  # fmt: skip
    print(f"  warm-up ({warm} samples each): {warm_cpu:.1f} s CPU")
    print(f"  a cycle: median {cycle * 1000:.0f} ms CPU = {100 * cycle / STEP_S:.1f} % of one "
          f"core; anomalies in {args.cycles} cycles ({args.series * args.cycles:,} samples "
          f"judged): {dict(found) or 'none'}")  # fmt: skip
    print(f"  memory: {per_series_kib:.0f} KiB per series kept (RSS growth over the warm-up; "
          f"peak RSS {rss_mib():.0f} MiB)")  # fmt: skip
    if args.nab_dir.is_dir():
        corpus = load_corpus(args.nab_dir)
        records = sum(len(f.values) for f in corpus)
        t = time.perf_counter()
        for f in corpus:
            score_series(np.array([epoch(s) for s in f.timestamps]), np.array(f.values))
        elapsed = time.perf_counter() - t
        print(f"NAB corpus {args.nab_dir}: {len(corpus)} files, {records:,} records scored in "
              f"{elapsed:.1f} s on one core ({records / elapsed:,.0f} records/s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
