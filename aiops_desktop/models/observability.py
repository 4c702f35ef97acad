"""Alerts, logs and traces (docs/architecture.md#rules)."""

from __future__ import annotations

from pydantic import Field, field_validator

from aiops_desktop.models.base import DomainModel
from aiops_desktop.models.enums import (
    LogDirection,
    SpanKind,
    SpanStatus,
)

LOG_DEFAULT_LIMIT = 100
LOG_MAX_LIMIT = 5000


class LogQuery(DomainModel):
    logql: str = Field(min_length=1)
    start_ns: int | None = None
    end_ns: int | None = None
    direction: LogDirection = LogDirection.BACKWARD
    limit: int = Field(default=LOG_DEFAULT_LIMIT, ge=1, le=LOG_MAX_LIMIT)


class LogEntry(DomainModel):
    cluster: str
    timestamp_ns: int = Field(ge=0)
    line: str
    labels: dict[str, str] = Field(default_factory=dict)


class LogResult(DomainModel):
    """What a LogQL query gave: log lines (newest first for BACKWARD), or for a metric query
    (``count_over_time`` ...) its series; ``truncated``: more lines matched than were read."""

    entries: list[LogEntry] = Field(default_factory=list)
    series: list[LogSeries] = Field(default_factory=list)
    truncated: bool = False
    pages: int = 0


class LogSeries(DomainModel):
    """One series of a LogQL metric query: its labels and (unix s, value) points."""

    labels: dict[str, str] = Field(default_factory=dict)
    points: list[tuple[float, float]] = Field(default_factory=list)


class TraceSummary(DomainModel):
    """One trace a search found."""

    trace_id: str
    root_service: str = ""
    root_name: str = ""
    start_ns: int = 0
    duration_ms: float = 0.0
    cluster: str = ""


class SpanEvent(DomainModel):
    """A span event, shown as a log line in the trace view."""

    timestamp_ns: int
    name: str
    attributes: dict[str, str] = Field(default_factory=dict)


class Span(DomainModel):
    trace_id: str
    span_id: str
    parent_span_id: str | None = None
    service_name: str
    operation: str
    kind: SpanKind = SpanKind.UNSPECIFIED
    start_ns: int
    duration_ns: int = Field(ge=0)
    status: SpanStatus = SpanStatus.UNSET
    status_message: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    events: list[SpanEvent] = Field(default_factory=list)

    @field_validator("trace_id", "span_id", "parent_span_id")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            int(value, 16)
        except ValueError as exc:
            raise ValueError(f"span/trace id {value!r} is not hexadecimal") from exc
        return value.lower()


class Trace(DomainModel):
    trace_id: str
    cluster: str
    spans: list[Span] = Field(default_factory=list)

    @property
    def root(self) -> Span | None:
        ids = {s.span_id for s in self.spans}
        return next((s for s in self.spans if s.parent_span_id not in ids), None)

    @property
    def has_error(self) -> bool:
        return any(s.status is SpanStatus.ERROR for s in self.spans)
