"""PTP timing: value codes, the board's ordering and compliance over a window
(docs/architecture.md#rules).

Clock state is the metric value (0 FREERUN, 1 LOCKED, 2 HOLDOVER); a faulty port reports an
offset of 999999 ns. Compliance over a window of evenly stepped samples: the share of samples
LOCKED, the share of offset samples within the threshold (default +/-100 ns, per profile), the
time spent in HOLDOVER and FREERUN, and the HOLDOVER episodes that lasted longer than the
holdover timeout (default 5 s).
"""

from __future__ import annotations

import numpy as np

from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, Compliance, Threshold

ROLE_CODES = {0: "PASSIVE", 1: "SLAVE", 2: "MASTER", 3: "FAULTY", 4: "UNKNOWN", 5: "LISTENING"}
CLASS_MEANING = {
    6: "locked to PRC",
    7: "PRC unlocked, in spec",
    52: "PRC unlocked, out of spec",
    135: "T-BC holdover, in spec",
    165: "T-BC holdover, out of spec",
    187: "PRC unlocked, out of spec",
    248: "default",
    255: "slave only",
}


GNSS_CODES = {0: "no fix", 1: "dead reckoning", 2: "2D fix", 3: "3D fix",
              4: "GNSS + dead reckoning", 5: "time only"}  # fmt: skip
DPLL_CODES = {-1: "unknown", 0: "invalid", 1: "freerun", 2: "locked",
              3: "locked, holdover acquired", 4: "holdover"}  # fmt: skip


def code_text(codes: dict[int, str], value: float | None) -> str | None:
    if value is None or np.isnan(value):
        return None
    return codes.get(int(value), f"code {int(value)}")


def role_of(value: float | None) -> str:
    if value is None or np.isnan(value):
        return "UNKNOWN"
    return ROLE_CODES.get(int(value), "UNKNOWN")


def offset_ok(offset_ns: float | None, threshold: Threshold = DEFAULT_THRESHOLD) -> bool | None:
    if offset_ns is None or np.isnan(offset_ns):
        return None
    return bool(threshold.within(np.array([offset_ns]))[0])


def compliance(
    states: np.ndarray,
    offsets: np.ndarray,
    step_s: float,
    *,
    threshold: Threshold = DEFAULT_THRESHOLD,
) -> Compliance:
    """Over evenly stepped samples (NaN where nothing was recorded): each sample stands for
    ``step_s`` seconds of its state; offsets are judged against ``threshold``'s band and
    HOLDOVER episodes against its timeout."""
    known = states[~np.isnan(states)]
    locked = float(np.mean(known == 1) * 100) if known.size else None
    seen = offsets[~np.isnan(offsets)]
    within = float(np.mean(threshold.within(seen)) * 100) if seen.size else None
    runs: list[int] = []
    run = 0
    for value in states:
        if value == 2:
            run += 1
        elif run:
            runs.append(run)
            run = 0
    if run:
        runs.append(run)
    durations = [r * step_s for r in runs]
    return Compliance(
        samples=int(known.size),
        locked_pct=locked,
        within_pct=within,
        holdover_s=float(np.sum(known == 2) * step_s),
        freerun_s=float(np.sum(known == 0) * step_s),
        long_holdovers=sum(1 for d in durations if d > threshold.holdover_timeout_s),
        longest_holdover_s=max(durations, default=0.0),
    )
