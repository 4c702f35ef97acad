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


def metric_code(value: float | None, lowest: int, highest: int) -> int | None:
    """A gauge that carries a code (a clock state, class or role): a whole number from
    ``lowest`` to ``highest``, else None (unknown). ``int()`` of NaN or +/-Inf raises, and
    one member's odd sample must not fail the board of the whole fleet."""
    if value is None or not math.isfinite(value) or not float(value).is_integer():
        return None  # (an int has no is_integer before Python 3.12)
    return int(value) if lowest <= value <= highest else None


class ClockState(StrEnum):
    """linuxptp-daemon clock state, from the metric value: 0 FREERUN, 1 LOCKED, 2 HOLDOVER."""

    FREERUN = "FREERUN"
    LOCKED = "LOCKED"
    HOLDOVER = "HOLDOVER"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def from_metric(cls, value: float | None) -> ClockState:
        code = metric_code(value, 0, 2)  # NaN, +/-Inf and other numbers: unknown, never FREERUN
        return cls.UNKNOWN if code is None else STATE_CODES[code]


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
    """A port over a window of evenly stepped samples. Shares are of the whole window: time
    with no sample is unknown (``unknown_s``, ``coverage_pct``), never counted as locked or
    within the band. A HOLDOVER episode of n samples lasted between (n - 1) and (n + 1)
    steps (``resolution_s``): it is long only when even the shorter is past the timeout,
    and "unsure" when only the longer is."""

    samples: int  # steps with a known clock state
    locked_pct: float | None
    within_pct: float | None
    holdover_s: float
    freerun_s: float
    long_holdovers: int  # HOLDOVER episodes certainly longer than the timeout
    longest_holdover_s: float
    steps: int = 0  # the window's steps
    unknown_s: float = 0.0  # the window's time with no clock state
    unsure_holdovers: int = 0  # episodes the step cannot tell from longer than the timeout
    resolution_s: float = 0.0  # the step: how finely durations are known

    @property
    def coverage_pct(self) -> float | None:
        return self.samples / self.steps * 100 if self.steps else None


#: a row ranked under this needs attention; at it, something about it is not known
RANK_UNKNOWN = 4
RANK_FINE = 5
#: fine too: a port with a role only, after the clocks (its NIC's clock, and that one's
#: chart, is what is shown first, not a port with nothing of its own to chart)
RANK_PORT_ONLY = 6


def severity_rank(
    state: ClockState,
    offset_in: bool | None,
    role: str,
    *,
    trouble: bool = False,
    port_only: bool = False,
    clock_type: bool = False,
) -> int:
    """Worst first: FREERUN, HOLDOVER, a faulty port or another fault (``trouble``: the PTP
    process down, a clock class that says the clock is not locked to its reference, GNSS
    without a fix, a DPLL lost), offset out of threshold, unknown (the state or the offset
    not reported: no data is not "in sync"), fine. A port with a role only (``port_only``:
    a boundary clock's MASTER port) has no state or offset of its own to be unknown (its
    NIC's clock has them, on a row of its own): it is fine unless FAULTY or in trouble, as
    the fleet's findings say nothing of it. A clock type's row (``clock_type``: a T-GM's
    GM, a BC, an OC) has by design no offset of its own (its sources report theirs): LOCKED,
    it is fine, as the findings say too (a healthy T-GM was greyed and counted unknown)."""
    if state is ClockState.FREERUN:
        return 0
    if state is ClockState.HOLDOVER:
        return 1
    if role == "FAULTY" or trouble:
        return 2
    if offset_in is False:
        return 3
    # LOCKED or UNKNOWN here: a LOCKED clock type has no offset of its own, by design
    if state is ClockState.UNKNOWN or (offset_in is None and not clock_type):
        return RANK_PORT_ONLY if port_only else RANK_UNKNOWN
    return RANK_FINE


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
    #: a fault beside the state and offset (see ``severity_rank``); said in ``notes``
    trouble: bool = False
    #: what that fault is, in words, as the fleet's findings say it: an out-of-spec clock
    #: class (``class_trouble``), GNSS without a fix or a DPLL that lost its lock
    class_trouble: list[str] = field(default_factory=list)
    signal_trouble: list[str] = field(default_factory=list)
    #: the PTP process's configs that report it down (a dual-NIC boundary clock runs one
    #: ptp4l per config, and its status series name the config, not the port)
    down_configs: list[str] = field(default_factory=list)
    threshold: Threshold = DEFAULT_THRESHOLD
    #: a port with a role and no clock state or offset of its own (a boundary clock's MASTER
    #: port: its NIC's clock has them); said in ``notes`` too (``PORT_ONLY_NOTE``)
    port_only: bool = False
    #: a clock type's row (GM, BC, OC: the clock's overall state, no offset of its own by
    #: design); said in ``notes`` where it has none (``CLOCK_TYPE_NOTE``)
    clock_type: bool = False
    #: the node's ptp4l is up and the node has published no clock state at all: the daemon
    #: sets one from ptp4l's offset log lines only, so a ptp4l that never locked (wrong
    #: domain, no grandmaster) has none; unknown is no "in sync": a fault (``silence``)
    silent: bool = False
    compliance: Compliance | None = None
    #: the offset over the window (timestamps s, ns), for the per-interface chart
    history: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def rank(self) -> int:
        return severity_rank(self.state, self.offset_in, self.role, trouble=self.trouble,
                             port_only=self.port_only, clock_type=self.clock_type)  # fmt: skip

    @property
    def silence(self) -> str:
        """What a ``silent`` row says, in its notes and as its finding; "" for any other."""
        if not self.silent:
            return ""
        return f"PTP state unknown: {self.process} is up but has published no clock state"

    @property
    def needs_attention(self) -> bool:
        return self.rank < RANK_UNKNOWN


@dataclass
class PtpBoard:
    rows: list[PtpRow]
    window: timedelta
    threshold: Threshold  # the default; a row's own may come from its profile
    outcomes: list[ClusterOutcome]
    #: the answers that may not be all (a Thanos partial response: a store not read)
    in_part: list[str] = field(default_factory=list)
