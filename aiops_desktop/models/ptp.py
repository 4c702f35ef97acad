"""PTP timing read models (docs/architecture.md#rules): a port's clock state, the offset band a
profile allows, compliance over a window and the fleet timing board.

The offset threshold (+/-100 ns) and the holdover timeout (5 s) are defined here once: the
board, the anomaly rules, the wall and the CLI's default read them from this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from aiops_desktop.models.metrics import ClusterOutcome

if TYPE_CHECKING:  # annotations only: no numpy at import
    import numpy as np

OFFSET_THRESHOLD_NS = 100.0
HOLDOVER_TIMEOUT_S = 5.0
FAULTY_OFFSET_NS = 999999.0


class ClockState(StrEnum):
    """linuxptp-daemon clock state, from the metric value: 0 FREERUN, 1 LOCKED, 2 HOLDOVER."""

    FREERUN = "FREERUN"
    LOCKED = "LOCKED"
    HOLDOVER = "HOLDOVER"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def from_metric(cls, value: float | None) -> ClockState:
        if value is None or math.isnan(value):  # NaN is unknown, never FREERUN
            return cls.UNKNOWN
        return STATE_CODES.get(int(value), cls.UNKNOWN)


STATE_CODES = {0: ClockState.FREERUN, 1: ClockState.LOCKED, 2: ClockState.HOLDOVER}


@dataclass(frozen=True)
class Threshold:
    """The offset band and holdover timeout of a PtpConfig profile (``ptpClockThreshold``:
    ``minOffsetThreshold``, ``maxOffsetThreshold``, ``holdOverTimeout``); the operator's
    defaults when a node's profile sets none."""

    min_ns: float = -OFFSET_THRESHOLD_NS
    max_ns: float = OFFSET_THRESHOLD_NS
    holdover_timeout_s: float = HOLDOVER_TIMEOUT_S
    profile: str = ""  # "" for the defaults

    @classmethod
    def symmetric(cls, ns: float) -> Threshold:
        return cls(-abs(ns), abs(ns))

    @property
    def band(self) -> str:
        if self.min_ns == -self.max_ns:
            return f"+/-{self.max_ns:g} ns"
        return f"{self.min_ns:g}..{self.max_ns:g} ns"

    def within(self, offsets: np.ndarray) -> np.ndarray:
        return (offsets != FAULTY_OFFSET_NS) & (offsets >= self.min_ns) & (offsets <= self.max_ns)


DEFAULT_THRESHOLD = Threshold()


@dataclass
class Compliance:
    samples: int
    locked_pct: float | None
    within_pct: float | None
    holdover_s: float
    freerun_s: float
    long_holdovers: int  # HOLDOVER episodes longer than the timeout
    longest_holdover_s: float


def severity_rank(state: ClockState, offset_in: bool | None, role: str) -> int:
    """Worst first: FREERUN, HOLDOVER, faulty port, offset out of threshold, unknown, fine."""
    if state is ClockState.FREERUN:
        return 0
    if state is ClockState.HOLDOVER:
        return 1
    if role == "FAULTY":
        return 2
    if offset_in is False:
        return 3
    if state is ClockState.UNKNOWN:
        return 4
    return 5


@dataclass
class PtpRow:
    cluster: str
    node: str
    iface: str
    process: str
    state: ClockState
    offset_ns: float | None = None
    max_offset_ns: float | None = None
    delay_ns: float | None = None
    freq_adj_ns: float | None = None
    clock_class: int | None = None
    role: str = "UNKNOWN"
    process_up: bool | None = None
    restarts: float | None = None
    gnss: str | None = None  # a grandmaster's GNSS receiver (3D fix ...), where exported
    dpll_phase: str | None = None  # the DPLL's phase and frequency lock, where exported
    dpll_frequency: str | None = None
    offset_in: bool | None = None
    threshold: Threshold = DEFAULT_THRESHOLD
    compliance: Compliance | None = None
    #: the offset over the window (timestamps s, ns), for the per-interface chart
    history: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def rank(self) -> int:
        return severity_rank(self.state, self.offset_in, self.role)


@dataclass
class PtpBoard:
    rows: list[PtpRow]
    window: timedelta
    threshold: Threshold  # the default; a row's own may come from its profile
    outcomes: list[ClusterOutcome]
