"""Incidents: the signals that belong together (anomalies, alerts, GPU/PTP/SR-IOV/Kubernetes
findings) as one thing with a lifecycle, a title, a severity, clusters and a timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import AwareDatetime, Field

from aiops_desktop.models.base import DomainModel
from aiops_desktop.models.enums import IncidentStatus
from aiops_desktop.models.fleet import SEVERITY_RANK, FindingSeverity

if TYPE_CHECKING:  # annotations only: no numpy at import
    import numpy as np


#: the root-cause window around an incident's first signal (PRODUCT.md, RCA)
RCA_WINDOW_BEFORE = timedelta(minutes=30)
RCA_WINDOW_AFTER = timedelta(minutes=5)
RCA_LEAD = timedelta(minutes=2)  # chosen on the RCA benchmark's development part (README)


class SignalVersion(DomainModel):
    """What a signal said from ``since`` until its next version."""

    since: AwareDatetime
    severity: FindingSeverity
    reason: str


#: earlier versions a signal keeps: its first ones and its newest (a time between them reads
#: the last kept version before it: older, never newer than what was known then)
MOST_VERSIONS = 4


def worst_first(signal: IncidentSignal) -> tuple[int, bool, datetime]:
    """Signals by how bad they are: the most severe; of equals, a finding (it names the
    thing: "du-2/ens1f0: clock in FREERUN") before a series' anomaly, then the first seen."""
    return SEVERITY_RANK[signal.severity], signal.source == "anomaly", signal.first_seen


class IncidentSignal(DomainModel):
    """One signal of an incident: ``key`` identifies it across refreshes; ``topology`` its
    place ("node:du-1", "pod:ran-du/du-l1-0", "ns:ran-du", "gpu:gpu-1/gpu3"). Its severity
    and reason are the newest; ``earlier`` holds what it said before ``changed_at``, so an
    analysis of a past moment reads what was known then (``as_of``)."""

    key: str
    source: str  # alert | anomaly | GPU | PTP | SR-IOV | Kubernetes
    cluster: str
    subject: str
    severity: FindingSeverity
    reason: str
    first_seen: AwareDatetime
    last_seen: AwareDatetime
    topology: list[str] = Field(default_factory=list)
    alert_name: str | None = None
    #: an alert's: the labels of what it is about (``analysis.incidents.alert_labels``: not its
    #: scrape target's, its cluster's or its severity); with its name, what makes two alerts
    #: "the same alert" (one incident across clusters): KubePodCrashLooping of two unrelated
    #: pods is not. Stored before it was kept: none
    alert_labels: dict[str, str] = Field(default_factory=dict)
    #: what it is about, named as RCA names causes ("ran-east du-2/ens1f0", "ran-east node
    #: du-1", "ran-east pod ran-du/du-l1-0"; the cluster alone when nothing narrower is known)
    entity: str = ""
    changed_at: AwareDatetime | None = None  # when severity and reason became these
    earlier: list[SignalVersion] = Field(default_factory=list, max_length=MOST_VERSIONS)
    #: when it was first grouped into its incident (the app first saw it: an alert that began
    #: before an acknowledgement may be polled after it); None where stored before this was
    #: kept (its ``first_seen`` stands in)
    grouped_at: AwareDatetime | None = None
    #: when a read last showed it going on, where that is later than its ``last_seen`` (a
    #: Kubernetes event's is its server's last repeat; it may repeat again): a cluster gone
    #: dark after that read holds its incident. None: its ``last_seen`` (an alert's, a
    #: finding's: the read's; a closed anomaly's: its end, it is known to have ended)
    offered_at: AwareDatetime | None = None

    @property
    def place(self) -> str:
        """What it is about, as a timeline or a title says it: a finding's or alert's subject
        names its thing ("gpu-1/gpu3"); an anomaly's is its metric, so its GPU, pod or node
        goes before it ("gpu-1/gpu3: gpu_temperature")."""
        narrower = self.entity.removeprefix(f"{self.cluster} ")
        if self.source == "anomaly" and narrower != self.entity:
            return f"{narrower}: {self.subject}"
        return self.subject

    def changed(self, severity: FindingSeverity, reason: str, at: datetime) -> IncidentSignal:
        """This signal saying ``severity`` and ``reason`` from ``at``: what it said until then
        is kept as an earlier version (at most MOST_VERSIONS: the first and the newest)."""
        if (severity, reason) == (self.severity, self.reason):
            return self
        since = self.changed_at or self.first_seen
        earlier = [*self.earlier, SignalVersion(since=since, severity=self.severity,
                                                reason=self.reason)]  # fmt: skip
        if len(earlier) > MOST_VERSIONS:  # the first ones and the newest stay
            half = MOST_VERSIONS // 2
            earlier = earlier[:half] + earlier[-(MOST_VERSIONS - half) :]
        update = {"severity": severity, "reason": reason, "changed_at": max(at, since),
                  "earlier": earlier}  # fmt: skip
        return self.model_copy(update=update)

    def as_of(self, at: datetime) -> IncidentSignal:
        """This signal as it was known at ``at``: its version then (its first version for a
        time before it was first seen)."""
        if self.changed_at is None or at >= self.changed_at or not self.earlier:
            return self
        then = max((v for v in self.earlier if v.since <= at), key=lambda v: v.since,
                   default=self.earlier[0])  # fmt: skip
        return self.model_copy(update={"severity": then.severity, "reason": then.reason,
                                       "changed_at": then.since, "earlier": []})  # fmt: skip


#: the clusters an incident names as holding it open (``Incident.unread``); more are counted
UNREAD_KEPT = 1000
#: an incident's first signals, kept longest when it must let some go (the store's cap on
#: its long-ended ones, analysis.incidents; a capture's cap on its record's size)
FIRST_KEPT = 20


class Incident(DomainModel):
    id: str
    title: str
    severity: FindingSeverity
    state: IncidentStatus = IncidentStatus.OPEN
    opened_at: AwareDatetime  # a record without a zone (a crafted capture) is refused
    updated_at: AwareDatetime
    acknowledged_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    signals: list[IncidentSignal] = Field(default_factory=list)
    #: signals long ended and let go (analysis.incidents: an incident open for days keeps its
    #: first, its worst and its recent signals), counted
    signals_dropped: int = Field(default=0, ge=0)
    #: its clusters whose sources could not be read (or were not read yet) at the last
    #: grouping: it is held open (its signals are unseen, not ended) until they can; the
    #: first UNREAD_KEPT by name, the rest counted in ``unread_more``
    unread: list[str] = Field(default_factory=list, max_length=UNREAD_KEPT)
    unread_more: int = Field(default=0, ge=0)
    #: ``unread`` in words, each cluster by the sources of its signals that cannot be read
    #: ("Alertmanager of east"); stored before this was kept: none (``unread`` is said)
    held_by: list[str] = Field(default_factory=list, max_length=UNREAD_KEPT)
    #: when it went back from ACKNOWLEDGED to OPEN (a signal that began after the
    #: acknowledgement made it worse), and why; ``acknowledged_at`` keeps the acknowledgement
    reopened_at: AwareDatetime | None = None
    reopened_because: str = ""
    #: the severity it had when acknowledged (what the person saw): a signal below it then
    #: (an INFO under a WARNING) grown worse than it makes it OPEN again. None where it is
    #: not acknowledged, or was acknowledged where this is not noted (the store's
    #: acknowledgement, a row stored before it was kept): the next grouping notes the
    #: severity it has then (an acknowledgement changes no severity)
    acknowledged_severity: FindingSeverity | None = None

    @property
    def held_because(self) -> str:
        """Why it stays open though no signal was seen lately ("" when it is not held)."""
        if not self.unread:
            return ""
        more = f" and {self.unread_more} more" if self.unread_more else ""
        said = self.held_by or self.unread
        return (f"held open: {', '.join(said)}{more} cannot be read (or not read yet), "
                "so its signals are unseen, not ended")  # fmt: skip

    @property
    def signal_count(self) -> int:
        """Every signal it has had, the ones let go included."""
        return len(self.signals) + self.signals_dropped

    @property
    def clusters(self) -> list[str]:
        return sorted({s.cluster for s in self.signals})

    @property
    def timeline(self) -> list[IncidentSignal]:
        return sorted(self.signals, key=lambda s: (s.first_seen, SEVERITY_RANK[s.severity]))

    def most_telling(self, count: int) -> tuple[list[IncidentSignal], int]:
        """Its ``count`` worst signals (``worst_first``) in time order, and how many more it
        has had (those let go included): the first to begin may all be warnings and its
        critical a later one, so a cut timeline is cut by how bad, not by when."""
        shown = sorted(self.signals, key=worst_first)[:count]
        kept = [s for s in self.timeline if any(s is t for t in shown)]
        return kept, self.signal_count - len(kept)

    @property
    def worst(self) -> IncidentSignal | None:
        """The most severe signal (``worst_first``)."""
        return min(self.signals, key=worst_first, default=None)

    @property
    def first_signal_at(self) -> datetime:
        return min((s.first_seen for s in self.signals), default=self.opened_at)


@dataclass
class RcaCauseRow:
    """One ranked cause as the RCA page shows it."""

    entity: str
    confidence: float
    onset: datetime | None
    evidence: list[str]  # "ptp_offset {iface=ens1f0, node=du-2}: z 15.7 (0.5 -> 350)"
    checks: list[tuple[str, str, str]] = field(default_factory=list)  # key, check, safe action


@dataclass
class RcaReport:
    """A root-cause analysis as the RCA page shows it: the ranking, the next checks and the
    top causes' evidence series (entity -> signal -> (unix s, values))."""

    subject: str
    window: str  # "30 min before to 5 min after 20:51:44 UTC, read up to 21:11:47 UTC"
    signals_read: int
    causes: list[RcaCauseRow]
    charts: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    #: a top cause's own error log lines in the window (entity -> (UTC time text, line))
    quotes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    detect_s: float | None = None  # the first signal's time (unix s): where jumps look
    #: the failing traces through a top cause (entity -> (UTC time text, trace id,
    #: "<root service> <operation> (<duration> ms)", its failed span's error))
    traces: dict[str, list[tuple[str, str, str, str]]] = field(default_factory=dict)
    #: why it was not made (its window refused): nothing was read because nothing was asked
    refused: str = ""


@dataclass(frozen=True)
class ExplainedSentence:
    text: str
    verified: bool  # its verdict is "verified": it cites evidence and its facts match
    reasons: list[str] = field(default_factory=list)  # why not verified
    #: analysis/grounding.py's verdict ("verified", "cited, not checked", "unverified");
    #: shown by it, but a sentence is shown verified only when ``verified`` says so
    verdict: str = ""


@dataclass(frozen=True)
class ExplanationView:
    """A model's explanation of an RCA as the page shows it: each sentence checked against
    the numbered evidence (analysis/grounding.py), the evidence itself, the reply's figures."""

    sentences: list[ExplainedSentence]
    evidence: list[tuple[str, str]]  # (id, text)
    stats: str
    truncated: bool = False
