"""PTP timing: value codes, the board's ordering and compliance over a window
(docs/architecture.md#rules).

Clock state is the metric value (0 FREERUN, 1 LOCKED, 2 HOLDOVER); a faulty port reports an
offset of 999999 ns. Compliance over a window of evenly stepped samples: the share of the
window LOCKED, the share within the threshold (default +/-100 ns, per profile), the time in
HOLDOVER and FREERUN and the time not known (no sample), and the HOLDOVER episodes that
lasted longer than the holdover timeout (default 5 s) as far as the step can tell.
"""

from __future__ import annotations

import numpy as np

from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, Compliance, Threshold, metric_code

ROLE_CODES = {0: "PASSIVE", 1: "SLAVE", 2: "MASTER", 3: "FAULTY", 4: "UNKNOWN", 5: "LISTENING"}
#: What a clock class says, as linuxptp-daemon publishes it (``openshift_ptp_clock_class``: its
#: help text names 6, 7, 52, 135, 165, 187, 248, 255) and ITU-T G.8275.1 defines it (clause
#: 6.4, table 3 of the 2022 edition, as upstream's pkg/protocol cites it). 140, 150 and 160
#: are a T-GM in holdover OUT of its holdover specification, its frequency traceable to a
#: category 1, 2 or 3 source (category 1 is PRC/PRS quality, 2 SSU-A/ST2): upstream names
#: 140 ``ClockClassOutOfSpec`` ("T-GM in holdover, out of holdover specification"); within
#: its specification a holdover T-GM announces 7 and a T-BC 135. Not checked against the
#: Recommendation's own text (not at hand): read from upstream and public restatements of its
#: table, which agree. An operator may set the in-spec holdover time to 0 so that a clock
#: announces 140-165 as soon as it loses its reference: the class is what the clock tells
#: its clients, and they take it as out of spec either way.
CLASS_MEANING = {
    6: "locked to PRC",
    7: "PRC unlocked, in spec",
    52: "PRC unlocked, out of spec",
    135: "T-BC holdover, in spec",
    140: "T-GM holdover, out of spec (category 1 frequency source)",
    150: "T-GM holdover, out of spec (category 2 frequency source)",
    160: "T-GM holdover, out of spec (category 3 frequency source)",
    165: "T-BC holdover, out of spec",
    187: "PRC unlocked, out of spec",
    248: "default: free-running, no time reference",
    255: "slave only",
}
#: the classes of a clock locked to its reference (6) or one that never serves time (255);
#: every other class says the clock lost its reference (holdover, unlocked, free-running)
LOCKED_CLASSES = frozenset({6, 255})
#: the known classes of a clock still within its holdover specification
IN_SPEC_CLASSES = frozenset({7, 135})


def class_badness(clock_class: int) -> tuple[int, int]:
    """How bad a clock class is, to pick the worst of several (one ptp4l per config, each
    announcing its own): locked (6, 255), in-spec holdover (7, 135) or a class this app does
    not know, out of spec (52, 140, 150, 160, 165, 187), free-running (248); then the higher
    number (G.8275.1 numbers them from best to worst)."""
    if clock_class in LOCKED_CLASSES:
        level = 0
    elif clock_class in IN_SPEC_CLASSES or clock_class not in CLASS_MEANING:
        level = 1
    elif clock_class == 248:
        level = 3
    else:
        level = 2
    return level, clock_class


#: the processes linuxptp-daemon names a clock's overall state by (its clock type: a T-GM's
#: "GM", a boundary or ordinary clock's "BC", "OC"): a clock state on the leading port's alias,
#: and by design no offset of its own (its sources, ts2phc, dpll, gnss, ptp4l, report theirs)
CLOCK_TYPE_PROCESSES = frozenset({"GM", "BC", "OC"})
#: the note of a clock type's row without an offset (``CLOCK_TYPE_PROCESSES``)
CLOCK_TYPE_NOTE = "the clock's overall state: no offset of its own"

#: the note of a board row made for a port that has an interface role but no clock state of
#: its own: linuxptp-daemon reports a clock state and offset only for the port its clock
#: follows (under the NIC's alias, ens2fx), so a MASTER, PASSIVE or FAULTY port has a role only
PORT_ONLY_NOTE = "port role only: no clock state or offset of its own (its NIC's clock has them)"


def is_port_only(notes: list[str]) -> bool:
    """Whether a row's notes say it is a port with a role only (``PORT_ONLY_NOTE``)."""
    return PORT_ONLY_NOTE in notes


#: GNSS receiver states good enough to serve time from
GNSS_FIXED = frozenset({"3D fix", "GNSS + dead reckoning", "time only"})
#: DPLL states that say it lost its reference
DPLL_LOST = frozenset({"freerun", "holdover", "invalid"})


GNSS_CODES = {0: "no fix", 1: "dead reckoning", 2: "2D fix", 3: "3D fix",
              4: "GNSS + dead reckoning", 5: "time only"}  # fmt: skip
DPLL_CODES = {-1: "unknown", 0: "invalid", 1: "freerun", 2: "locked",
              3: "locked, holdover acquired", 4: "holdover"}  # fmt: skip


#: the widest code a status gauge is read as (a larger one is said as "code N" up to this)
CODE_LIMIT = 1 << 16


def code_text(codes: dict[int, str], value: float | None) -> str | None:
    """A status gauge's code in words; "code N" for a whole number the table lacks; None
    for no number at all (NaN, +/-Inf, a fraction): unknown."""
    code = metric_code(value, -CODE_LIMIT, CODE_LIMIT)
    if code is None:
        return None
    return codes.get(code, f"code {code}")


def role_of(value: float | None) -> str:
    code = metric_code(value, 0, max(ROLE_CODES))
    return "UNKNOWN" if code is None else ROLE_CODES[code]


def offset_ok(offset_ns: float | None, threshold: Threshold = DEFAULT_THRESHOLD) -> bool | None:
    if offset_ns is None or np.isnan(offset_ns):
        return None
    return bool(threshold.within(np.array([offset_ns]))[0])


def _pct(count: int, total: int) -> float | None:
    return float(count / total * 100) if total else None


def _holdover_runs(states: np.ndarray) -> list[int]:
    """Consecutive HOLDOVER samples per episode (a step with no sample ends one)."""
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
    return runs


def compliance(
    states: np.ndarray,
    offsets: np.ndarray,
    step_s: float,
    *,
    threshold: Threshold = DEFAULT_THRESHOLD,
) -> Compliance:
    """Over the window's evenly stepped samples (one per step of the window, NaN where
    nothing was recorded; ``offsets`` on the same steps, or empty where none is exported):
    each share is of the whole window, so 4 LOCKED samples of an hour's 240 steps are 1.7 %
    locked and 98 % unknown, not 100 % locked. Each sample stands for ``step_s`` seconds of
    its state; offsets are judged against ``threshold``'s band and HOLDOVER episodes against
    its timeout, as finely as the step allows."""
    steps = int(states.size)
    known = states[~np.isnan(states)]
    within = None
    if offsets.size:
        seen = offsets[~np.isnan(offsets)]
        within = _pct(int(np.sum(threshold.within(seen))), max(steps, int(offsets.size)))
    runs = _holdover_runs(states)
    timeout = threshold.holdover_timeout_s
    return Compliance(
        samples=int(known.size),
        locked_pct=_pct(int(np.sum(known == 1)), steps),
        within_pct=within,
        holdover_s=float(np.sum(known == 2) * step_s),
        freerun_s=float(np.sum(known == 0) * step_s),
        long_holdovers=sum(1 for r in runs if (r - 1) * step_s > timeout),
        longest_holdover_s=max(runs, default=0) * step_s,
        steps=steps,
        unknown_s=float((steps - known.size) * step_s),
        unsure_holdovers=sum(1 for r in runs if (r - 1) * step_s <= timeout < (r + 1) * step_s),
        resolution_s=step_s,
    )
