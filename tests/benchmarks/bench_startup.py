"""Start-up benchmark: how long a command and the window take from launch, beside the
interpreter alone.

Whole processes, run in turn (baseline, command, window, baseline, ...) so a drifting machine
weighs on all of them alike: ``python -c pass`` (the baseline), ``aiops-desktop clusters
list`` on an empty cache, and ``aiops-desktop --offscreen --screenshot`` of the first window
(start, first frame, exit). Medians of RUNS runs after one warm-up, with min and max, and the
median's ratio to the baseline's. Writes bench-results/startup.json and prints the figures.
Targets (docs/architecture.md#start-up): clusters list under 0.35 s, the window under 1.5 s.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNS = int(os.environ.get("STARTUP_RUNS", "7"))
TARGETS = {"clusters list": 0.35, "first window": 1.5}


def timed(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    took = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-400:]!r}")
    return took


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="aiops-startup-"))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    app = [sys.executable, "-m", "aiops_desktop", "--data-dir", str(work / "home")]
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "clusters list": [*app, "clusters", "list"],
        # --force: each run writes the same file (without it, the second is refused)
        "first window": [*app, "--offscreen", "--force", "--screenshot", str(work / "shot.png")],
    }
    for argv in commands.values():  # warm-up: file caches, the cache file created once
        timed(argv, env)
    runs: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(RUNS):
        for name, argv in commands.items():
            runs[name].append(timed(argv, env))
    base = statistics.median(runs["python -c pass"])
    figures = {}
    for name, took in runs.items():
        median = statistics.median(took)
        figures[name] = {
            "median_s": round(median, 3),
            "min_s": round(min(took), 3),
            "max_s": round(max(took), 3),
            "ratio_to_baseline": round(median / base, 1),
            "target_s": TARGETS.get(name),
        }
        target = TARGETS.get(name)
        verdict = (
            ""
            if target is None
            else f"  target {target:g} s: {'met' if median < target else 'MISSED'}"
        )
        print(
            f"{name:<16} median {median:6.3f} s  (min {min(took):.3f}, max {max(took):.3f}; "
            f"x{median / base:4.1f} the baseline){verdict}"
        )
    out = ROOT / "bench-results" / "startup.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"runs": RUNS, "cpus": os.cpu_count(), **figures}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
