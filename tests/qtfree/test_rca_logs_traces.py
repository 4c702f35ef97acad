"""RCA reads logs and traces where a cluster has them: each pod's error lines a minute and
the window's failing traces (their failed and slow spans per pod, and who calls whom) rank
beside the stored series. Against the stand-in's Train Ticket day, the pod the fault list
names ranks among the first three; and what comes after the analysis time is never read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.observability import Span, Trace
from aiops_desktop.services.core import Core
from analysis.rca.traces import error_log_signals, trace_signals
from analysis.reports.build import rca_section
from tests.servers.loki_tempo import DAY

T0 = datetime(2023, 1, 29, 9, 0, tzinfo=UTC).timestamp()


def span(span_id: str, parent: str | None, service: str, at_s: float, ms: float,
         failed: bool = False) -> Span:  # fmt: skip
    return Span(trace_id="a" * 32, span_id=span_id, parent_span_id=parent, service_name=service,
                operation="op", start_ns=int(at_s * 1e9), duration_ns=int(ms * 1e6),
                status=SpanStatus.ERROR if failed else SpanStatus.UNSET,
                attributes={"k8s.pod.name": f"{service}-0",
                            "k8s.namespace.name": "shop"})  # fmt: skip


def test_failed_and_slow_spans_per_pod_and_who_calls_whom() -> None:
    trace = Trace(trace_id="a" * 32, cluster="east", spans=[
        span("0" * 15 + "1", None, "front", T0 + 30, 900),
        span("0" * 15 + "2", "0" * 15 + "1", "cart", T0 + 31, 800, failed=True),
        span("0" * 15 + "3", "0" * 15 + "2", "cart", T0 + 32, 5),
        span("0" * 15 + "4", "0" * 15 + "1", "cart", T0 + 700, 50, failed=True),  # after the end
    ])  # fmt: skip
    signals, edges = trace_signals([trace], T0 - 300, T0 + 600)
    assert edges == [("east pod shop/front-0", "east pod shop/cart-0")]
    failed = {s.entity: s for s in signals if s.name == "failed spans"}
    assert failed["east pod shop/cart-0"].values.sum() == 1  # the one after the end: unread
    slow = next(s for s in signals if s.name == "slowest span ms" and "front" in s.entity)
    assert slow.values.max() == pytest.approx(900)
    assert np.all(np.diff(slow.timestamps) == 60)
    pod = {"k8s_namespace_name": "shop", "k8s_pod_name": "cart-0"}
    counts = [(T0 + 60, 4.0), (T0 + 900, 99.0)]  # the second: after the end, unread
    [logs] = error_log_signals("east", [(pod, counts)], T0 - 300, T0 + 600)
    assert logs.entity == "east pod shop/cart-0" and logs.values.sum() == 4.0


@pytest.mark.integration
@pytest.mark.asyncio
async def test_the_faulty_pod_ranks_high_from_its_logs_and_traces(lab_core: Core) -> None:
    faults = [f for hour in json.loads((DAY / "2023-01-29-fault_list.json").read_text()).values()
              for f in hour]  # fmt: skip
    fault = next(f for f in faults if f["inject_time"] == "2023-01-29 09:03:53")
    injected = datetime.fromisoformat(fault["inject_time"]).replace(tzinfo=UTC)
    result = await lab_core.rca.for_cluster("lab", ["lab"], injected + timedelta(minutes=5))
    top = [c.entity for c in result.causes[:3]]
    assert f"lab pod train-ticket/{fault['inject_pod']}" in top, top
    cause = next(c for c in result.causes if fault["inject_pod"] in c.entity)
    assert {"error log lines", "failed spans"} <= {e.signal for e in cause.evidence}
    assert all((e.first_deviation_s or 0) <= injected.timestamp() + 300 for e in cause.evidence)
    # its own error lines are quoted (the RCA page, the JSON and the incident report)
    quoted = result.quotes[cause.entity]
    assert 1 <= len(quoted) <= 5 and all("ERROR" in line for _, line in quoted)
    assert all(at <= injected.timestamp() + 300 for at, _ in quoted)
    shown = result.shown()
    assert shown.quotes[cause.entity][0][0].endswith(" UTC")
    doc = result.as_json()
    row = next(c for c in doc["causes"] if c["entity"] == cause.entity)  # type: ignore[index, union-attr]
    assert row["error_lines"] and "ERROR" in row["error_lines"][0]["line"]
    # and the failing traces through it: the page's tip, the JSON and the incident report
    traces = result.traces[cause.entity]
    assert 1 <= len(traces) <= 3 and all(t.start_s <= injected.timestamp() + 300 for t in traces)
    assert [t.start_s for t in traces] == sorted(t.start_s for t in traces)
    assert row["failing_traces"][0]["trace_id"] == traces[0].trace_id
    when, trace_id, root, error = shown.traces[cause.entity][0]
    assert when.endswith(" UTC") and trace_id == traces[0].trace_id and root.endswith(" ms)")
    assert error  # the failed span's status message (its ERROR line) or its operation
    section, _ = rca_section(shown)
    table = next(t for t in section.tables if t.title == f"Failing traces through {cause.entity}")
    assert table.rows[0][1] == traces[0].trace_id
