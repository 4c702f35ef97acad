"""The report model (docs/architecture.md#rules): a header, a summary, one section per cluster with
facts, tables and charts, and recommendations. Every figure in it comes from stored or read
data. Reports are kept ``REPORT_RETENTION`` (90 days) in the reports folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: no numpy at import
    import numpy as np


REPORT_RETENTION = timedelta(days=90)
#: a capacity report's period unless asked: a trend is claimed from 3 days or more
CAPACITY_DAYS = 7


def _utc(when: datetime) -> datetime:
    """``when`` in UTC (a time with another offset is converted, not relabelled)."""
    return when.astimezone(UTC) if when.tzinfo is not None else when


class ReportType(StrEnum):
    EXECUTIVE = "executive"
    DETAILED = "detailed"
    INCIDENT = "incident"
    CAPACITY = "capacity"
    HANDOVER = "handover"

    @property
    def default_period(self) -> timedelta:
        """The period a report covers unless asked: a shift's, a capacity report's
        ``CAPACITY_DAYS`` (a trend needs 3 days or more: half a day's cycle is no trend)."""
        if self is ReportType.CAPACITY:
            return timedelta(days=CAPACITY_DAYS)
        return timedelta(hours=12)

    @property
    def heading(self) -> str:
        return {
            ReportType.EXECUTIVE: "Executive summary",
            ReportType.DETAILED: "Detailed analysis",
            ReportType.INCIDENT: "Incident report",
            ReportType.CAPACITY: "Capacity plan",
            ReportType.HANDOVER: "Shift handover",
        }[self]


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    empty: str = "nothing in this period"


@dataclass
class Chart:
    title: str
    unit: str
    #: name -> (timestamps s, values); a forecast series' name ends with "(forecast)"
    series: dict[str, tuple[np.ndarray, np.ndarray]]


@dataclass
class Section:
    title: str  # the cluster's name, or a fleet-wide heading
    state: str = ""  # ONLINE / DEGRADED / ... where it is a cluster
    facts: list[tuple[str, str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    type: ReportType
    title: str
    since: datetime
    until: datetime
    clusters: list[str]
    generated_at: datetime
    summary: list[str]
    sections: list[Section]
    recommendations: list[str]
    source: str = "live cache"  # or "capture of ... (SAMPLE DATA)"

    @property
    def period(self) -> str:
        since, until = _utc(self.since), _utc(self.until)
        return f"{since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC"

    @property
    def expires_at(self) -> datetime:
        return self.generated_at + REPORT_RETENTION
