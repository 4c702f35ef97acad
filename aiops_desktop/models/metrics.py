"""Metric queries and results (PRODUCT.md section 2)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field, field_validator, model_validator

from aiops_desktop.models.base import DomainModel, utcnow
from aiops_desktop.models.enums import Aggregation, QueryStatus, QueryType

DEFAULT_QUERY_TIMEOUT_S = 30.0
MAX_QUERY_TIMEOUT_S = 300.0
DEFAULT_PARALLEL_QUERIES = 10
DEFAULT_RETRIES = 3
DEFAULT_STEP = timedelta(minutes=1)
DEFAULT_RANGE = timedelta(hours=1)


class MetricQuery(DomainModel):
    promql: str = Field(min_length=1)
    query_type: QueryType = QueryType.INSTANT
    start: datetime | None = None
    end: datetime | None = None
    step: timedelta = DEFAULT_STEP
    clusters: list[str] = Field(default_factory=list, description="cluster names; empty = all")
    aggregation: Aggregation = Aggregation.MERGE
    timeout_s: float = Field(default=DEFAULT_QUERY_TIMEOUT_S, gt=0, le=MAX_QUERY_TIMEOUT_S)

    @field_validator("step")
    @classmethod
    def _step(cls, value: timedelta) -> timedelta:
        if value.total_seconds() <= 0:
            raise ValueError("step must be positive")
        return value

    @model_validator(mode="after")
    def _range(self) -> MetricQuery:
        if self.query_type is QueryType.RANGE:
            end = self.end or utcnow()
            start = self.start or end - DEFAULT_RANGE
            if start >= end:
                raise ValueError("range query start must be before its end")
        return self


class MetricSample(DomainModel):
    timestamp: datetime
    value: float


class MetricSeries(DomainModel):
    cluster: str
    metric: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    samples: list[MetricSample] = Field(default_factory=list)


class ClusterQueryError(DomainModel):
    cluster: str
    reason: str


class MetricResult(DomainModel):
    query: MetricQuery
    status: QueryStatus
    series: list[MetricSeries] = Field(default_factory=list)
    errors: list[ClusterQueryError] = Field(default_factory=list)
    fetched_at: datetime = Field(default_factory=utcnow)
    duration_ms: float | None = None
