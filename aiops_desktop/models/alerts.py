"""Alerts (docs/architecture.md#rules): one alert as Alertmanager reports it, and alerts grouped for
people (by cluster, namespace or alert name: one alert on many clusters is one row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import Field

from aiops_desktop.models.base import DomainModel
from aiops_desktop.models.enums import AlertSeverity, AlertState


class Alert(DomainModel):
    fingerprint: str
    cluster: str
    name: str
    severity: AlertSeverity = AlertSeverity.WARNING
    state: AlertState = AlertState.FIRING
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime
    ends_at: datetime | None = None
    generator_url: str | None = None

    @property
    def namespace(self) -> str | None:
        return self.labels.get("namespace")

    @property
    def summary(self) -> str:
        return self.annotations.get("summary") or self.annotations.get("description") or self.name


SEVERITY_RANK = {AlertSeverity.CRITICAL: 0, AlertSeverity.WARNING: 1, AlertSeverity.INFO: 2}


@dataclass
class AlertGroup:
    key: str
    alerts: list[Alert]

    @property
    def severity(self) -> AlertSeverity:
        return min((a.severity for a in self.alerts), key=SEVERITY_RANK.__getitem__)

    @property
    def clusters(self) -> list[str]:
        return sorted({a.cluster for a in self.alerts})

    @property
    def namespaces(self) -> list[str]:
        return sorted({a.namespace for a in self.alerts if a.namespace})

    @property
    def names(self) -> list[str]:
        return sorted({a.name for a in self.alerts})

    @property
    def since(self) -> datetime:
        return min(a.starts_at for a in self.alerts)

    @property
    def summary(self) -> str:
        return self.alerts[0].summary
