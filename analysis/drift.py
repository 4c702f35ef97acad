"""Configuration drift: settings that should match across clusters or nodes, and do not.

Each fact is (kind, subject, setting, scope, value): for example ("GPU driver", "NVIDIA H100",
"driver", "ran-east/gpu-0", "550.90.07") or ("PTP profile", "slave", "ptp4lOpts",
"ran-east/du-ptp-slave", "-2 -s"). Facts with the same kind, subject and setting should agree;
where they take more than one value, the drift lists every value with the scopes that hold it,
the most common value first (the likely intended one; where the most common values tie, none
is: ``Drift.majority`` says which, and the order among them is only alphabetical).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from aiops_desktop.models.drift import Drift, Fact


def find_drift(facts: Iterable[Fact]) -> list[Drift]:
    groups: dict[tuple[str, str, str], dict[str, list[str]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for f in facts:
        groups[f.kind, f.subject, f.setting][f.value].append(f.scope)
    out = []
    for (kind, subject, setting), by_value in sorted(groups.items()):
        if len(by_value) < 2:
            continue
        values = sorted(
            ((v, sorted(scopes)) for v, scopes in by_value.items()),
            key=lambda vs: (-len(vs[1]), vs[0]),
        )
        out.append(Drift(kind, subject, setting, values))
    return out
