"""A panel of the query catalog: one query the poller records and a chart draws
(``resources/queries/*.json``): PromQL on Prometheus, a LogQL metric query on Loki, or a
TraceQL metrics query on Tempo (the error-log and error/slow-span rates that anomaly
detection, incidents and RCA read beside the metrics)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aiops_desktop.models.enums import EndpointKind

_LEGEND_FIELD = re.compile(r"\{(\w+)\}")


class Panel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    promql: str = ""
    logql: str = ""
    traceql: str = ""
    unit: str = ""
    legend: str = ""
    sparkline: bool = False
    group: str = ""
    #: the least step it is polled at (a ``[1m]`` count is read a minute apart)
    step_s: int = Field(default=0, ge=0, le=3600)
    #: how far back its first read goes (hours; 0: the poller's BACKFILL): a minute's count
    #: read back past the live detector's probation is judged from the first poll on
    backfill_h: float = Field(default=0.0, ge=0, le=48)
    #: counted events: a step Loki or Tempo leaves out had none (0), it is not unknown
    empty_is_zero: bool = False
    #: labels renamed as they arrive (Loki's ``k8s_pod_name`` is the app's ``pod``)
    rename: dict[str, str] = Field(default_factory=dict)
    #: what its series says about its own entity being a root cause (RCA weighs the kinds:
    #: a resource of its own, errors it writes, latency and traffic that are often a
    #: symptom of what it calls, or other)
    rca_kind: Literal["resource", "errors", "latency", "traffic", "other"] = "other"
    #: it counts whole events (its least change is one: a baseline of none is not a spread
    #: of zero)
    counted: bool = False

    @model_validator(mode="after")
    def _one_query(self) -> Panel:
        if sum(bool(q) for q in (self.promql, self.logql, self.traceql)) != 1:
            raise ValueError(f"panel {self.id}: exactly one of promql, logql, traceql")
        return self

    @property
    def source(self) -> EndpointKind:
        """Where its query runs."""
        if self.logql:
            return EndpointKind.LOKI
        return EndpointKind.TEMPO if self.traceql else EndpointKind.PROMETHEUS

    def relabelled(self, labels: dict[str, str]) -> dict[str, str]:
        if not self.rename:
            return labels
        return {self.rename.get(k, k): v for k, v in labels.items()}

    def legend_for(self, labels: dict[str, str]) -> str:
        if not self.legend:
            inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
            return f"{{{inner}}}" if inner else self.title
        return _LEGEND_FIELD.sub(lambda m: labels.get(m.group(1), "?"), self.legend)
