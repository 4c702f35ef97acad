"""Reports (PRODUCT.md section 6)."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

from pydantic import Field, model_validator

from aiops_desktop.models.base import DomainModel, utcnow
from aiops_desktop.models.enums import ReportFormat, ReportType

REPORT_RETENTION = timedelta(days=90)


class Report(DomainModel):
    id: UUID = Field(default_factory=uuid4)
    title: str = Field(min_length=1, max_length=200)
    type: ReportType
    format: ReportFormat = ReportFormat.PDF
    range_start: datetime
    range_end: datetime
    clusters: list[str] = Field(default_factory=list)
    generated_at: datetime = Field(default_factory=utcnow)
    path: str | None = None

    @property
    def expires_at(self) -> datetime:
        return self.generated_at + REPORT_RETENTION

    @model_validator(mode="after")
    def _range(self) -> Report:
        if self.range_start >= self.range_end:
            raise ValueError("report time range start must be before its end")
        return self
