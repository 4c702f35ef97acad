"""What RCA reads and what it says: signals of entities, ranked causes with their evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from aiops_desktop.models.incidents import RCA_LEAD, RCA_WINDOW_AFTER, RCA_WINDOW_BEFORE


class SignalKind(StrEnum):
    """Where a signal comes from; each kind is scored the same way, its evidence says which."""

    RESOURCE = "resource"  # CPU, memory, I/O, network of the entity itself
    LATENCY = "latency"  # how slowly it answers (often a symptom of what it calls)
    ERRORS = "errors"  # error logs, error spans, failed requests
    TRAFFIC = "traffic"  # requests it serves
    OTHER = "other"


@dataclass(frozen=True)
class Signal:
    """One series of one entity: ``timestamps`` (unix s, ascending) and ``values``."""

    entity: str
    name: str
    kind: SignalKind
    timestamps: np.ndarray
    values: np.ndarray
    #: the least change it can show (1 for a count of events: a baseline of none is not a
    #: spread of zero, one line more is one line); 0: not known
    resolution: float = 0.0


@dataclass(frozen=True)
class Evidence:
    """Why a signal counts: how far it moved from its own baseline (robust z), and when it
    first left it."""

    signal: str
    kind: SignalKind
    z: float
    first_deviation_s: float | None  # unix s; None: never beyond the onset threshold
    baseline: float
    peak: float


@dataclass
class Cause:
    entity: str
    score: float
    confidence: float  # 0-1: this cause's share of the top causes' scores
    onset_s: float | None
    evidence: list[Evidence] = field(default_factory=list)


@dataclass(frozen=True)
class Window:
    """The RCA window around the first signal (``detect_s``): baseline before it, the incident
    after it, nothing after ``analysis_s`` (causal: what was not yet seen is never read)."""

    detect_s: float
    before_s: float = RCA_WINDOW_BEFORE.total_seconds()
    after_s: float = RCA_WINDOW_AFTER.total_seconds()
    analysis_s: float | None = None
    #: a change is detected after it began (a detector needs samples, an alert its ``for``,
    #: an injector's clock is not the telemetry's): the baseline ends this long before
    #: ``detect_s`` and the incident is read from there
    lead_s: float = RCA_LEAD.total_seconds()

    @property
    def change_s(self) -> float:
        """Where the baseline ends and the incident is read from."""
        return self.detect_s - self.lead_s

    @property
    def end_s(self) -> float:
        end = self.detect_s + self.after_s
        return end if self.analysis_s is None else min(end, self.analysis_s)
