"""Metric queries and their answers (docs/architecture.md#rules): the query a person or a reader
asks, the series a Prometheus answers (numpy arrays: charts, the store and the detectors want
arrays), each tagged with its cluster, and the console's requests and history."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import Field, field_validator, model_validator

from aiops_desktop.models.base import DomainModel, utcnow
from aiops_desktop.models.enums import Aggregation, QueryStatus, QueryType

if TYPE_CHECKING:  # annotations only: no numpy at import
    import numpy as np

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


class ClusterQueryWarning(DomainModel):
    cluster: str
    warning: str


class MetricResult(DomainModel):
    query: MetricQuery
    status: QueryStatus
    series: list[MetricSeries] = Field(default_factory=list)
    errors: list[ClusterQueryError] = Field(default_factory=list)
    warnings: list[ClusterQueryWarning] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    fetched_at: datetime = Field(default_factory=utcnow)
    duration_ms: float | None = None


@dataclass
class PromSeries:
    labels: dict[str, str]
    timestamps: np.ndarray  # float seconds since the epoch
    values: np.ndarray  # float64; NaN where Prometheus said so

    @property
    def metric(self) -> str:
        return self.labels.get("__name__", "")

    @property
    def last(self) -> tuple[float, float] | None:
        if not self.timestamps.size:
            return None
        return float(self.timestamps[-1]), float(self.values[-1])

    def to_metric_series(self, cluster: str) -> MetricSeries:
        return MetricSeries(
            cluster=cluster,
            metric=self.metric,
            labels={k: v for k, v in self.labels.items() if k != "__name__"},
            samples=[
                MetricSample(timestamp=datetime.fromtimestamp(t, UTC), value=v)
                for t, v in zip(self.timestamps.tolist(), self.values.tolist(), strict=True)
            ],
        )


#: the largest integer a float64 holds exactly: past it an integer's last digits are not known
_EXACT_INTEGER = 2.0**53


def value_text(value: float) -> str:
    """A sample value as the console and the CLI show it: an integer whole (a counter's
    1234567 and 1234568 both read "1.23457e+06" at six digits), another number to 15
    significant digits (what a float64 holds for certain), NaN and infinities as Prometheus
    writes them."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < _EXACT_INTEGER:
        return str(int(value))
    return f"{value:.15g}"


@dataclass
class ClusterOutcome:
    cluster: str
    ok: bool
    duration_ms: float
    series: int = 0
    reason: str | None = None  # the collector's reason code: timed_out, auth_failed, ...
    error: str | None = None
    #: what the server said beside its answer (a Thanos partial response: a store was not
    #: read), and what of it could not be read (a native histogram): the series may not be all
    warnings: list[str] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        """The warnings that say data may be missing (a Thanos or Cortex partial response: a
        store not read, any text of theirs). Prometheus 2.4x-2.5x send their own query
        annotations in ``warnings`` too ("PromQL info: metric might not be a counter…"): they
        say how the query reads, not that data is missing. "… and N more warnings" counts:
        the ones it stands for are not known."""
        return [w for w in self.warnings if not w.startswith(QUERY_ANNOTATIONS)]


#: how Prometheus begins its own query annotations among an answer's warnings
QUERY_ANNOTATIONS = ("PromQL info:", "PromQL warning:")


def lost_reads(outcomes: list[ClusterOutcome], *, recorded: bool) -> list[ClusterOutcome]:
    """The failed reads (``outcomes``) that lost something: from a capture (``recorded``), a
    query it did not record (one made before the query was read) answers "not_configured":
    nothing known lost. A read that failed at export it answers as failed: lost."""
    return [o for o in outcomes if not (recorded and o.reason == "not_configured")]


@dataclass
class TaggedSeries:
    cluster: str
    series: PromSeries


@dataclass
class QueryAnswer:
    query: MetricQuery
    status: QueryStatus
    series: list[TaggedSeries]
    outcomes: list[ClusterOutcome]
    duration_ms: float
    fetched_at: datetime = field(default_factory=utcnow)
    #: what the person should know of how it was asked (a coarser step than the one chosen)
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[ClusterOutcome]:
        return [o for o in self.outcomes if not o.ok]

    def to_model(self) -> MetricResult:
        return MetricResult(
            query=self.query,
            status=self.status,
            series=[t.series.to_metric_series(t.cluster) for t in self.series],
            errors=[
                ClusterQueryError(cluster=o.cluster, reason=o.error or "") for o in self.failures
            ],
            warnings=[
                ClusterQueryWarning(cluster=o.cluster, warning=w)
                for o in self.outcomes
                for w in o.warnings
            ],
            notes=list(self.notes),
            fetched_at=self.fetched_at,
            duration_ms=self.duration_ms,
        )


@dataclass
class ConsoleRequest:
    promql: str
    clusters: list[str] = field(default_factory=list)  # empty: every cluster with metrics
    range_s: int | None = None  # None: instant query
    step_s: int = 60
    aggregation: Aggregation = Aggregation.MERGE
    timeout_s: float = 30.0

    @classmethod
    def from_record(cls, rec: QueryRecord) -> ConsoleRequest:
        return cls(
            promql=rec.promql,
            clusters=list(rec.clusters),
            range_s=rec.range_s,
            step_s=rec.step_s or 60,
            aggregation=Aggregation(rec.aggregation),
        )


@dataclass(frozen=True)
class QueryRecord:
    promql: str
    clusters: list[str]
    query_type: str
    range_s: int | None
    step_s: int | None
    aggregation: str
    status: str = ""
    series: int = 0
    duration_ms: float | None = None
    run_at: str = ""
    name: str = ""  # saved queries only


@dataclass
class ConsoleResult:
    status: str
    duration_ms: float
    instant: bool
    rows: list[tuple[str, str, str, int]]  # cluster, series, last value, points
    series: dict[str, tuple[np.ndarray, np.ndarray]]
    failures: list[tuple[str, str]]  # cluster, reason and message
