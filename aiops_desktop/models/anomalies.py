"""Anomalies (docs/architecture.md#rules): one episode of one series found by a detector, and the
filter the anomaly list and the reports read them with."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID, uuid4

from pydantic import AwareDatetime, Field, model_validator

from aiops_desktop.models.base import DomainModel
from aiops_desktop.models.enums import AnomalyMethod, AnomalySeverity, AnomalyType, Sensitivity

ANOMALY_LOOKBACK = timedelta(hours=24)
#: what an explanation says of an episode still going at the end of the data
STILL_OPEN_NOTE = "; still open at the end of the data"
#: what begins the part of an explanation that says how long its episode lasted
LASTED = "; lasted "


ANOMALY_MIN_POINTS = 30


RELATED_KEPT = 10  # related alerts an anomaly names, the most severe first


def change_cap(deviation_pct: float | None, change_points: float | None) -> AnomalySeverity:
    """The most a statistical finding may be for how far it moved (``AnomalySeverity.
    from_change``): a percentage by its move in points (400 -> 440 % is 40 points where its
    +10 % allowed MEDIUM; 0.5 -> 2 % is 1.5 where +300 % allowed HIGH), anything else by its
    relative deviation. The one rule the detector grades by and the model checks with: two
    measures made a finding the detector graded HIGH fail its own model's check."""
    return AnomalySeverity.from_change(deviation_pct if change_points is None else change_points)


class Anomaly(DomainModel):
    id: UUID = Field(default_factory=uuid4)
    cluster: str
    metric: str
    labels: dict[str, str] = Field(default_factory=dict)
    method: AnomalyMethod
    sensitivity: Sensitivity = Sensitivity.MEDIUM
    # times with a zone: a stored or captured one without is refused (a damaged row, skipped)
    timestamp: AwareDatetime = Field(description="the episode's worst point")
    started_at: AwareDatetime | None = Field(default=None, description="the episode's first point")
    last_at: AwareDatetime | None = Field(
        default=None, description="the episode's last point found (None: stored before it was kept)"
    )
    score: float = Field(ge=0, description="z-equivalent score")
    threshold: float = Field(gt=0)
    severity: AnomalySeverity
    confidence: float = Field(ge=0, le=1)
    type: AnomalyType
    expected: float | None = None
    actual: float
    deviation_pct: float | None = None
    #: a percentage's move in points, which caps its severity in place of ``deviation_pct``
    #: (``change_cap``); None: not a percentage (or stored before it was kept)
    change_points: float | None = None
    explanation: str
    #: the alerts firing with it at its place (``analysis.incidents.related_alerts``)
    related_alerts: list[str] = Field(default_factory=list, max_length=RELATED_KEPT)
    open: bool = Field(
        default=False,
        description="still going at the end of the data (not ended there), where a later "
        "analysis judges that data again (a sample the live detector judged is not judged "
        "again: its novelty is a moment)",
    )

    @model_validator(mode="after")
    def _severity_matches_score(self) -> Anomaly:
        """A statistical anomaly is as severe as its score says (the benchmarked detector: its
        tail probability), capped by how far it moved (``change_cap``; earlier versions did
        not cap); CRITICAL is for rules only."""
        if self.method is AnomalyMethod.DOMAIN_RULE:
            return self
        cap = change_cap(self.deviation_pct, self.change_points)
        if self.method is AnomalyMethod.CONTEXT:  # by its tail probability, capped alike
            if self.severity is AnomalySeverity.CRITICAL or self.severity.rank < cap.rank:
                raise ValueError(f"severity {self.severity} beyond what {self._moved} "
                                 f"allows ({cap})")  # fmt: skip
            return self
        by_score = AnomalySeverity.from_ratio(self.score / self.threshold)
        wanted = by_score if by_score.rank >= cap.rank else cap
        # by_score alone: what caches and captures written before the cap hold, still read;
        # MEDIUM for HIGH: inside a domain rule's limits, below its breach (analysis.detect)
        ruled = AnomalySeverity.MEDIUM if AnomalySeverity.HIGH in (wanted, by_score) else None
        if self.severity not in (wanted, by_score, ruled):
            raise ValueError(
                f"severity {self.severity} does not match score/threshold "
                f"{self.score / self.threshold:.2f} and {self._moved} (expected {wanted})"
            )
        return self

    @property
    def _moved(self) -> str:
        """How far it moved, in the measure its severity is capped by."""
        if self.change_points is not None:
            return f"a move of {self.change_points} points"
        return f"a change of {self.deviation_pct} %"

    def ended(self) -> Anomaly:
        """This episode as found once it had ended (a later analysis found it closed)."""
        return self.model_copy(
            update={"open": False, "explanation": self.explanation.replace(STILL_OPEN_NOTE, "")}
        )

    def extended(self, later: Anomaly) -> Anomaly:
        """This finding of an episode (its worst point, kept) with how far a later finding
        of it saw it go: its last point, whether it is still going on, how long it lasted."""
        head = self.explanation.replace(STILL_OPEN_NOTE, "").split(LASTED, 1)[0]
        at = later.explanation.find(LASTED)
        extent = later.explanation[at:] if at >= 0 else STILL_OPEN_NOTE if later.open else ""
        last = [t for t in (self.last_at, later.last_at) if t is not None]
        # alerts related to any part of it (an alert fires minutes after what it watches)
        return self.model_copy(update={
            "open": later.open, "explanation": head + extent, "last_at": max(last, default=None),
        }).naming([*self.related_alerts, *later.related_alerts])  # fmt: skip

    def naming(self, names: Iterable[str]) -> Anomaly:
        """This anomaly naming ``names`` as its related alerts, once each in their order (a
        name keeps its place), ``RELATED_KEPT`` at most."""
        named = list(dict.fromkeys(names))[:RELATED_KEPT]
        return self if named == self.related_alerts else self.model_copy(
            update={"related_alerts": named})  # fmt: skip

    @property
    def described(self) -> str:
        """Its explanation, with the alerts firing with it where there are any."""
        if not self.related_alerts:
            return self.explanation
        return f"{self.explanation}; alerts firing with it: {', '.join(self.related_alerts)}"

    @property
    def identity(self) -> str:
        """The same episode of the same series is the same anomaly, however often it is found."""
        labels = ",".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        start = (self.started_at or self.timestamp).timestamp()
        return f"{self.cluster}|{self.metric}|{labels}|{start:.0f}"


@dataclass(frozen=True)
class AnomalyFilter:
    clusters: tuple[str, ...] = ()
    severities: tuple[AnomalySeverity, ...] = ()
    types: tuple[AnomalyType, ...] = ()
    metric: str | None = None
    since: float | None = None  # epoch seconds
    until: float | None = None
    limit: int = 1000
    open_only: bool = False  # only episodes still going on at the end of their data
    started_since: float | None = None  # epoch seconds: the episode began then or after
    started_until: float | None = None  # ... and then or before
    #: epoch seconds: its last point found was then or after, or it is still open (the
    #: stored episodes that may reach into a read that begins then)
    lasting_since: float | None = None
    #: epoch seconds: its last point found was then or after, open or not (one left open
    #: when the app closed mid-episode is not going on since: a report's period)
    found_since: float | None = None


@dataclass(frozen=True)
class AnomalyMarker:
    ts: float
    value: float
    level: str  # the theme's severity level: critical, warning, info
    text: str
