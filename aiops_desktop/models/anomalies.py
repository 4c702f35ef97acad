"""Anomalies (docs/architecture.md#rules): one episode of one series found by a detector, and the
filter the anomaly list and the reports read them with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from pydantic import Field, model_validator

from aiops_desktop.models.base import DomainModel
from aiops_desktop.models.enums import AnomalyMethod, AnomalySeverity, AnomalyType, Sensitivity

ANOMALY_LOOKBACK = timedelta(hours=24)


ANOMALY_MIN_POINTS = 30


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


@dataclass(frozen=True)
class AnomalyFilter:
    clusters: tuple[str, ...] = ()
    severities: tuple[AnomalySeverity, ...] = ()
    types: tuple[AnomalyType, ...] = ()
    metric: str | None = None
    since: float | None = None  # epoch seconds
    until: float | None = None
    limit: int = 1000


@dataclass(frozen=True)
class AnomalyMarker:
    ts: float
    value: float
    level: str  # the theme's severity level: critical, warning, info
    text: str
