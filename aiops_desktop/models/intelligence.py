"""Anomalies, incidents and root-cause analysis (docs/architecture.md#rules)."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

from pydantic import Field, model_validator

from aiops_desktop.models.base import DomainModel, utcnow
from aiops_desktop.models.enums import (
    AnomalySeverity,
    IncidentStatus,
)

RCA_WINDOW_BEFORE = timedelta(minutes=30)
RCA_WINDOW_AFTER = timedelta(minutes=5)
RCA_MAX_SIGNALS = 50
RCA_SYMPTOM_WINDOW = timedelta(seconds=300)


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
