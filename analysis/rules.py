"""Domain rules: breaches that need no statistics (docs/architecture.md#rules).

PTP offset beyond the threshold (default +/-100 ns; 999999 is linuxptp's faulty-port value),
clock state not LOCKED, GPU temperature warning 70 C / critical 80 C, and GPU health events:
an XID code reported, double-bit ECC errors or row-remap failures rising, single-bit ECC rising.
Each breaching point gets a ratio (how far past the limit, >= 1), a one-line reason and its
grade: past a warning limit HIGH, past a critical one CRITICAL, corrected errors growing MEDIUM
(routine on a big fleet: watch their growth). A clock in HOLDOVER is HIGH (a WARNING, as the PTP
page and the fleet say: it still keeps time), FREERUN CRITICAL; an XID is graded as the XID
table the GPU page reads (``resources/gpu/xid.json``) grades its code: an application's fault
(13, 31, 43) HIGH, a GPU off the bus (79) CRITICAL, a code not in the table CRITICAL. A GPU
series' DCGM blanks ("not supported", "not found": ``is_dcgm_blank``) are no points.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from aiops_desktop.models.enums import AnomalySeverity
from aiops_desktop.models.gpu import TEMP_CRITICAL_C, TEMP_WARNING_C, GpuState, XidInfo
from aiops_desktop.models.ptp import FAULTY_OFFSET_NS, OFFSET_THRESHOLD_NS, ClockState
from analysis.signals import SignalType


@dataclass(frozen=True)
class RuleHit:
    ratio: float  # >= 1: how far past the limit (its score)
    expected: float
    reason: str
    #: how bad the breach is, however far past the limit: a warning limit's HIGH (a clock in
    #: HOLDOVER, an XID the XID table calls a WARNING), a critical one's CRITICAL (a clock
    #: FREERUN, a critical XID, 80 C), corrected errors growing MEDIUM (no lower: an excursion
    #: inside a rule's limits is MEDIUM at most, ``analysis.detect``). HIGH reads as the
    #: fleet's WARNING, CRITICAL as its CRITICAL (``AnomalySeverity.level``)
    grade: AnomalySeverity = AnomalySeverity.HIGH


#: (value, previous value, limit) -> a hit or None
RuleCheck = Callable[[float, float | None, float], RuleHit | None]

#: DCGM's placeholders for a value it does not have (dcgm_structs.h): DCGM_INT32_BLANK
#: 0x7ffffff0 and, one up each, its NOT_FOUND, NOT_SUPPORTED and NOT_PERMISSIONED;
#: DCGM_INT64_BLANK 0x7ffffffffffffff0 and its three (as a float each is 2**63);
#: DCGM_FP64_BLANK 2**47 and its three (+1.0, +2.0, +3.0). dcgm-exporter prints them as
#: they are: an ECC counter of a GPU with ECC off reads 9223372036854775794 (NOT_SUPPORTED).
DCGM_INT32_BLANK = 0x7FFFFFF0
DCGM_INT32_MAX = 0x7FFFFFFF
DCGM_FP64_BLANK = 140737488355328.0  # 2**47: every int64 blank is above it too


def is_dcgm_blank(value: float) -> bool:
    """Whether a DCGM exporter value is one of DCGM's blanks, not a reading: as DCGM's own
    DCGM_INT32_IS_BLANK / DCGM_INT64_IS_BLANK / DCGM_FP64_IS_BLANK say, any value from a
    blank's base up (an int32 field to its maximum; a value from 2**47 up: an fp64 or int64
    one). No GPU field this app reads comes near either as a reading."""
    return value >= DCGM_FP64_BLANK or DCGM_INT32_BLANK <= value <= DCGM_INT32_MAX


def _ptp_offset(value: float, previous: float | None, limit: float) -> RuleHit | None:
    if value == FAULTY_OFFSET_NS:
        return RuleHit(10.0, 0.0, "PTP port reports the faulty offset 999999 ns")
    if abs(value) > limit:
        return RuleHit(
            abs(value) / limit, 0.0, f"PTP offset {value:+.0f} ns beyond +/-{limit:.0f} ns"
        )
    return None


def _ptp_state(value: float, previous: float | None, limit: float) -> RuleHit | None:
    state = ClockState.from_metric(value)
    if state in (ClockState.LOCKED, ClockState.UNKNOWN):
        return None
    if state is ClockState.FREERUN:
        return RuleHit(4.0, 1.0, "PTP clock FREERUN, not LOCKED", AnomalySeverity.CRITICAL)
    # HOLDOVER: the clock still keeps time on its own oscillator; a WARNING, as the PTP page
    # and the fleet say (a holdover that runs out ends in FREERUN, CRITICAL then)
    return RuleHit(2.5, 1.0, f"PTP clock {state.value}, not LOCKED")


def _gpu_temperature(value: float, previous: float | None, limit: float) -> RuleHit | None:
    if value >= TEMP_CRITICAL_C:
        return RuleHit(
            4.0, TEMP_WARNING_C, f"GPU at {value:.0f} C, critical (>= {TEMP_CRITICAL_C:g} C)",
            AnomalySeverity.CRITICAL,
        )  # fmt: skip
    if value >= TEMP_WARNING_C:
        return RuleHit(
            2.5, TEMP_WARNING_C, f"GPU at {value:.0f} C, warning (>= {TEMP_WARNING_C:g} C)"
        )
    return None


#: an XID table severity -> the hit's ratio and grade (a WARNING is HIGH: the fleet's WARNING)
_XID_GRADES = {
    GpuState.CRITICAL: (4.0, AnomalySeverity.CRITICAL),
    GpuState.WARNING: (2.5, AnomalySeverity.HIGH),
}


def _xid_hit(code: int, xids: Mapping[int, XidInfo] | None) -> RuleHit:
    """A new XID at its code's severity in the XID table (``xids``, handed in: the one the
    GPU page reads), with its meaning: an application's own fault (13, 31, 43) is no CRITICAL
    of the GPU, nor of the fleet. A code the table lacks, or with no table, stays CRITICAL:
    nothing says it is mild."""
    info = (xids or {}).get(code)
    if info is None:
        said = " (not in the XID table)" if xids else ""
        return RuleHit(4.0, 0.0, f"GPU reported XID {code}{said}", AnomalySeverity.CRITICAL)
    ratio, grade = _XID_GRADES.get(info.severity, _XID_GRADES[GpuState.CRITICAL])
    return RuleHit(ratio, 0.0, f"GPU reported XID {code} ({info.name}): {info.meaning}", grade)


def _gpu_event(metric: str, xids: Mapping[int, XidInfo] | None) -> RuleCheck:
    upper = metric.upper()

    def check(value: float, previous: float | None, limit: float) -> RuleHit | None:
        # an event is a change: a window's first sample has nothing to change from (a gauge
        # still holding an old XID code is not a new XID at every window's start)
        if previous is None:
            return None
        if "XID_ERRORS" in upper:
            if value > 0 and value != previous:
                return _xid_hit(round(value), xids)
            return None
        rising = value > previous
        if ("DBE" in upper or "REMAP_FAILURE" in upper) and rising:
            what = "row-remap failure" if "REMAP" in upper else "double-bit ECC errors"
            return RuleHit(4.0, previous, f"GPU {what}: {value:.0f}")
        if rising:  # corrected errors (single-bit ECC, pages retired for them): watch growth
            return RuleHit(
                1.5, previous, f"GPU {metric} rose from {previous:.0f} to {value:.0f}",
                AnomalySeverity.MEDIUM,
            )  # fmt: skip
        return None

    return check


#: the GPU's own temperature (DCGM's gauge, the gpu_temperature panel): the only one the 70/80 C
#: limits are for (a GPU's memory runs hotter; a query that groups "by (gpu)" is no temperature)
GPU_TEMPERATURE = re.compile(
    r"(?<![a-z0-9_])(DCGM_FI_DEV_GPU_TEMP|gpu_temperature)(?![a-z0-9_])", re.IGNORECASE
)


@dataclass(frozen=True)
class DcgmCheck:
    """A rule over a DCGM exporter series: ``apply_rule`` passes its blanks over as it does
    NaN (no reading, nor a change from or to one)."""

    check: RuleCheck

    def __call__(self, value: float, previous: float | None, limit: float) -> RuleHit | None:
        return self.check(value, previous, limit)


def rule_for(
    kind: SignalType, metric: str, xids: Mapping[int, XidInfo] | None = None
) -> RuleCheck | None:
    """The domain rule for a series of ``kind``, if one judges it; ``xids``: the XID table
    (``resources/gpu/xid.json``, read by the service that runs detection) an XID's grade
    comes from."""
    if kind is SignalType.PTP_OFFSET:
        return _ptp_offset
    if kind is SignalType.PTP_CLOCK_STATE:
        return _ptp_state
    if kind is SignalType.TEMPERATURE and GPU_TEMPERATURE.search(metric):
        return DcgmCheck(_gpu_temperature)
    if kind is SignalType.GPU_EVENT:
        return DcgmCheck(_gpu_event(metric, xids))
    return None


def rule_judges(check: RuleCheck, values: np.ndarray) -> np.ndarray:
    """Which of ``values`` ``apply_rule`` judges with ``check`` (``_reading``), at once."""
    values = np.asarray(values, dtype=float)
    judged = np.isfinite(values)
    if isinstance(check, DcgmCheck):
        judged &= ~dcgm_blanks(values)
    return judged


def dcgm_blanks(values: np.ndarray) -> np.ndarray:
    """Which of ``values`` are DCGM's blanks (``is_dcgm_blank``'s bounds), at once."""
    return (values >= DCGM_FP64_BLANK) | ((values >= DCGM_INT32_BLANK) & (values <= DCGM_INT32_MAX))


def _reading(check: RuleCheck, value: float) -> bool:
    """Whether ``apply_rule`` judges ``value``: not NaN, nor a DCGM series' blank (a PTP
    offset 2**47 ns off is a reading)."""
    return math.isfinite(value) and not (isinstance(check, DcgmCheck) and is_dcgm_blank(value))


def apply_rule(
    check: RuleCheck, values: np.ndarray, *, limit: float = OFFSET_THRESHOLD_NS
) -> list[RuleHit | None]:
    hits: list[RuleHit | None] = []
    previous: float | None = None
    for v in values:
        value = float(v)
        if not _reading(check, value):
            hits.append(None)
            continue
        hits.append(check(value, previous, limit))
        previous = value
    return hits
