"""`make bench-rca`: the app's RCA (analysis/rca) over recorded fault-injection cases, beside a
robust-z baseline (BARO-like, metrics only, no kinds, no call graph) and a random ranking, in
the same run. Prints AC@1, AC@3, AC@5 and Avg@5 per system and fault type, and writes every
ranking (services best first, each once) to --out so anyone can score it.

Development and held-out parts (README, "RCA benchmark"): the method's constants were chosen
on Sock Shop runs 1-2, Online Boutique 2022-08-22 and Train Ticket faults before 10:00; the
figures to quote are the held-out ones (the rest), printed apart.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from analysis.rca.model import SignalKind, Window
from analysis.rca.score import rank
from tests.benchmarks.rca_cases import DEFAULT_RCA_DIR, Case, from_logs_or_traces, load_cases

Ranker = Callable[[Case], list[str]]
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def ours(case: Case) -> list[str]:
    return [c.entity for c in rank(case.signals, Window(case.detect_s), calls=case.calls)]


def baseline(case: Case) -> list[str]:
    """Robust z of the metrics alone, max per service (what BARO does after detection)."""
    metrics = [s for s in case.signals if not from_logs_or_traces(s.name)]
    flat = [s.__class__(s.entity, s.name, SignalKind.OTHER, s.timestamps, s.values)
            for s in metrics]  # fmt: skip
    return [
        c.entity for c in rank(flat, Window(case.detect_s, lead_s=0.0), spread_by="iqr")
    ]  # as BARO: at detection, scaled by the IQR


def random_ranking(case: Case) -> list[str]:
    services = sorted({s.entity for s in case.signals})
    random.Random(case.name).shuffle(services)
    return services


def once(ranking: list[str]) -> list[str]:
    seen: list[str] = []
    for s in ranking:
        if s not in seen:
            seen.append(s)
    return seen


def held_out(case: Case) -> bool:
    if case.system == "sock-shop":
        return not case.name.endswith(("/1", "/2"))
    if "2022-08-22" in case.name:
        return False
    if "2023-01-29" in case.name:
        return case.name.split()[1] >= "10:00:00"
    return True


def ac(ranking: list[str], truth: str, k: int) -> float:
    return 1.0 if truth in ranking[:k] else 0.0


def table(rows: list[tuple[Case, list[str]]]) -> dict[tuple[str, str], dict[str, float]]:
    groups: dict[tuple[str, str], list[tuple[Case, list[str]]]] = defaultdict(list)
    for case, ranking in rows:
        groups[(case.system, case.fault)].append((case, ranking))
        groups[(case.system, "all")].append((case, ranking))
        day = case.name.split()[0]
        if DAY.fullmatch(day):  # a Nezha day: each day apart too (a day never seen, say)
            groups[(case.system, f"day {day}")].append((case, ranking))
    out = {}
    for key, items in sorted(groups.items()):
        n = len(items)
        acs = [sum(ac(r, c.truth, k) for c, r in items) / n for k in range(1, 6)]
        out[key] = {"n": n, "AC@1": acs[0], "AC@3": acs[2], "AC@5": acs[4],
                    "Avg@5": sum(acs) / 5}  # fmt: skip
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_RCA_DIR)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "rca.json")
    args = parser.parse_args()
    t0 = time.perf_counter()
    cases = list(load_cases(args.data_dir))
    loaded = time.perf_counter() - t0
    rankers: dict[str, Ranker] = {"aiops": ours, "robust_z": baseline, "random": random_ranking}
    results: dict[str, list[tuple[Case, list[str]]]] = {}
    timings = {}
    for name, ranker in rankers.items():
        t = time.perf_counter()
        results[name] = [(c, once(ranker(c))) for c in cases]
        timings[name] = time.perf_counter() - t
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps([
        {"case": c.name, "system": c.system, "fault": c.fault, "truth": c.truth, "ranking": r,
         "held_out": held_out(c)}
        for c, r in results["aiops"]
    ], indent=1))  # fmt: skip
    for part, chosen in (("held-out", True), ("development", False)):
        print(f"\n== {part} cases")
        print(f"{'system':<24} {'fault':<16} {'n':>3}  " + "  ".join(
            f"{name + ' AC@1/AC@3/Avg@5':<28}" for name in rankers))  # fmt: skip
        tables = {n: table([(c, r) for c, r in rows if held_out(c) is chosen])
                  for n, rows in results.items()}  # fmt: skip
        for key in tables["aiops"]:
            cells = []
            for name in rankers:
                m = tables[name][key]
                cells.append(f"{m['AC@1']:.2f} / {m['AC@3']:.2f} / {m['Avg@5']:.2f}".ljust(28))
            print(f"{key[0]:<24} {key[1]:<16} {tables['aiops'][key]['n']:>3}  " + "  ".join(cells))
    total = time.perf_counter() - t0
    print(
        f"\n{len(cases)} cases; loading {loaded:.1f} s, "
        + ", ".join(f"{n} {t:.1f} s" for n, t in timings.items())
        + f"; total {total:.1f} s; wrote {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
