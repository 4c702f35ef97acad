"""Anomalies, incidents and root-cause analysis (PRODUCT.md section 5)."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

from pydantic import Field, model_validator

from aiops_desktop.models.base import DomainModel, utcnow
from aiops_desktop.models.enums import (
    AnomalyMethod,
    AnomalySeverity,
    AnomalyType,
    IncidentStatus,
    Sensitivity,
)

ANOMALY_LOOKBACK = timedelta(hours=24)
ANOMALY_MIN_POINTS = 30
RCA_WINDOW_BEFORE = timedelta(minutes=30)
RCA_WINDOW_AFTER = timedelta(minutes=5)
RCA_MAX_SIGNALS = 50
RCA_SYMPTOM_WINDOW = timedelta(seconds=300)


class Anomaly(DomainModel):
    id: UUID = Field(default_factory=uuid4)
    cluster: str
    metric: str
    labels: dict[str, str] = Field(default_factory=dict)
    method: AnomalyMethod
    sensitivity: Sensitivity = Sensitivity.MEDIUM
    timestamp: datetime = Field(description="the episode's worst point")
    started_at: datetime | None = Field(default=None, description="the episode's first point")
    score: float = Field(ge=0, description="z-equivalent score")
    threshold: float = Field(gt=0)
    severity: AnomalySeverity
    confidence: float = Field(ge=0, le=1)
    type: AnomalyType
    expected: float | None = None
    actual: float
    deviation_pct: float | None = None
    explanation: str
    related_alerts: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _severity_matches_score(self) -> Anomaly:
        wanted = AnomalySeverity.from_ratio(self.score / self.threshold)
        if self.method is not AnomalyMethod.DOMAIN_RULE and self.severity is not wanted:
            raise ValueError(
                f"severity {self.severity} does not match score/threshold "
                f"{self.score / self.threshold:.2f} (expected {wanted})"
            )
        return self

    @property
    def identity(self) -> str:
        """The same episode of the same series is the same anomaly, however often it is found."""
        labels = ",".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        start = (self.started_at or self.timestamp).timestamp()
        return f"{self.cluster}|{self.metric}|{labels}|{start:.0f}"


class Incident(DomainModel):
    id: UUID = Field(default_factory=uuid4)
    title: str
    status: IncidentStatus = IncidentStatus.OPEN
    severity: AnomalySeverity = AnomalySeverity.MEDIUM
    clusters: list[str] = Field(default_factory=list)
    started_at: datetime
    updated_at: datetime = Field(default_factory=utcnow)
    anomaly_ids: list[UUID] = Field(default_factory=list)
    alert_fingerprints: list[str] = Field(default_factory=list)


class RootCauseCandidate(DomainModel):
    signal: str = Field(description="what is suspected, e.g. 'node worker-3 memory pressure'")
    cluster: str
    confidence: float = Field(ge=0, le=1)
    evidence: list[str] = Field(default_factory=list)
    first_seen: datetime | None = None


class RCAResult(DomainModel):
    incident_id: UUID
    window_start: datetime
    window_end: datetime
    signals_considered: int = Field(default=0, ge=0, le=RCA_MAX_SIGNALS)
    candidates: list[RootCauseCandidate] = Field(default_factory=list)
    suggested_checks: list[str] = Field(default_factory=list)
    llm_explanation: str | None = None
    generated_at: datetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _window(self) -> RCAResult:
        if self.window_start >= self.window_end:
            raise ValueError("RCA window start must be before its end")
        return self
