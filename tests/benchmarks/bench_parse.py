"""A big answer's parse beside the event loop: how long the loop waits at most while a worker
thread parses it, with ``json.loads`` (which holds the GIL for the whole parse) and with
``collectors.json_pieces.loads`` (the app's: the GIL handed over between values), side by
side in one run. Two answers: a Kubernetes list of 40,000 pods (about 62 MiB, what a server
ignoring ``limit`` may send) and a Prometheus range answer of 6,000 series of 240 points
(about 31 MiB, a fleet hub's GPU panel). The loop ticks every 5 ms, as a UI's timers do.

Writes bench-results/parse.json and prints the figures (medians of BENCH_PARSE_RUNS runs)."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from collectors import json_pieces

RUNS = int(os.environ.get("BENCH_PARSE_RUNS", "3"))


def answers() -> dict[str, bytes]:
    pod = {
        "metadata": {"name": "pod-x", "namespace": "ns", "uid": "u" * 36,
                     "labels": {"app": "a", "k": "v" * 40}},
        "spec": {"containers": [{"name": "c", "image": "registry/img:tag",
                                 "env": [{"name": f"E{i}", "value": "x" * 30} for i in range(20)]}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}] * 4},
    }  # fmt: skip
    series = {
        "metric": {"__name__": "DCGM_FI_DEV_GPU_UTIL", "gpu": "0", "Hostname": "node-1234",
                   "UUID": "GPU-" + "a" * 36},
        "values": [[1_700_000_000 + 15 * i, "42.5"] for i in range(240)],
    }  # fmt: skip
    return {
        "kube list of 40,000 pods": json.dumps(
            {"kind": "PodList", "metadata": {"resourceVersion": "1"}, "items": [pod] * 40_000}
        ).encode(),
        "prometheus 6,000 series x 240": json.dumps(
            {"status": "success", "data": {"resultType": "matrix", "result": [series] * 6_000}}
        ).encode(),
    }


async def _beside(parse: Callable[[bytes], Any], raw: bytes) -> tuple[float, float]:
    """The parse's time in a worker thread, and the longest the loop waited meanwhile."""
    loop = asyncio.get_running_loop()
    started = last = time.perf_counter()
    worst = 0.0
    done = loop.run_in_executor(None, parse, raw)
    while not done.done():
        await asyncio.sleep(0.005)
        now = time.perf_counter()
        worst, last = max(worst, now - last), now
    await done
    return time.perf_counter() - started, worst


def main() -> int:
    figures: dict[str, dict[str, float]] = {}
    for name, raw in answers().items():
        assert json_pieces.loads(raw) == json.loads(raw)
        for parser, parse in (("json.loads", json.loads), ("json_pieces", json_pieces.loads)):
            runs = [asyncio.run(_beside(parse, raw)) for _ in range(RUNS)]
            figures[f"{name} / {parser}"] = {
                "MiB": round(len(raw) / 2**20, 1),
                "parse_s": round(statistics.median(r[0] for r in runs), 3),
                "loop_wait_ms": round(statistics.median(r[1] for r in runs) * 1000, 1),
            }
    for key, f in figures.items():
        print(f"{key:<50} {f['MiB']:>6} MiB  parse {f['parse_s']:.2f} s  "
              f"loop waited {f['loop_wait_ms']:.0f} ms at most")  # fmt: skip
    out = ROOT / "bench-results" / "parse.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
