"""RCA reads logs and traces where a cluster has them: each pod's error lines a minute, the
window's failing traces (their failed and slow spans per pod, and who calls whom) and the
time calls into each pod spend outside it (sampled minute by minute) rank beside the stored
series. Against the stand-in's Train Ticket day, the pod the fault list names ranks among the
first three; and what comes after the analysis time is never read."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.observability import Span, Trace, TraceSummary
from aiops_desktop.services.core import Core
from aiops_desktop.services.intelligence import rca_logs_traces
from aiops_desktop.services.intelligence.rca_logs_traces import LogsTracesAround
from analysis.rca.model import SignalKind, Window
from analysis.rca.traces import (
    CALL_TIME,
    SAMPLED_PER_STEP,
    call_time_signals,
    error_log_signals,
    failing_through,
    span_entity,
    time_outside,
    trace_signals,
)
from analysis.reports.build import rca_section
from collectors.errors import CollectorError
from tests.servers.loki_tempo import DAY, RunningLokiTempo

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
        # began before the end, failed after it: not yet known at the end
        span("0" * 15 + "5", "0" * 15 + "1", "cart", T0 + 590, 30_000, failed=True),
    ])  # fmt: skip
    signals, edges = trace_signals([trace], T0 - 300, T0 + 600)
    assert edges == [("east pod shop/front-0", "east pod shop/cart-0")]
    failed = {s.entity: s for s in signals if s.name == "failed spans"}
    assert failed["east pod shop/cart-0"].values.sum() == 1  # the ones ended after the end: unread
    slow = next(s for s in signals if s.name == "slowest span ms" and "front" in s.entity)
    assert np.nanmax(slow.values) == pytest.approx(900)
    assert np.isfinite(slow.values).sum() == 1  # a minute without its spans is unknown, not 0
    # each minute is stamped when it is known: at its end, never after the analysis time
    assert slow.timestamps[np.isfinite(slow.values)].tolist() == [T0 + 60]
    assert np.all(np.diff(slow.timestamps) == 60) and slow.timestamps[-1] == T0 + 600
    pod = {"k8s_namespace_name": "shop", "k8s_pod_name": "cart-0"}
    counts = [(T0 + 60, 4.0), (T0 + 900, 99.0)]  # the second: after the end, unread
    [logs] = error_log_signals("east", [(pod, counts)], T0 - 300, T0 + 600)
    assert logs.entity == "east pod shop/cart-0" and logs.values.sum() == 4.0
    assert logs.timestamps[logs.values > 0].tolist() == [T0 + 60]  # at its own time
    assert logs.timestamps.max() <= T0 + 600


def test_the_time_calls_spend_outside_the_pod_they_call() -> None:
    one = "0" * 15
    trace = Trace(trace_id="a" * 32, cluster="east", spans=[
        span(one + "1", None, "front", T0 + 30, 900),
        span(one + "2", one + "1", "cart", T0 + 31, 800),  # 100 ms outside cart
        span(one + "3", one + "2", "cart", T0 + 32, 5),  # within cart: not a call
        span(one + "4", one + "1", "cart", T0 + 150, 50),  # 850 ms outside, two minutes on
        span(one + "5", one + "1", "cart", T0 + 700, 10),  # after the end
        span(one + "6", one + "1", "cart", T0 + 40, 950),  # longer than its caller: 0, not < 0
    ])  # fmt: skip
    outside = {s.span_id[-1]: ms for s, ms in time_outside(trace.spans)}
    assert outside == {"2": 100, "4": 850, "5": 890, "6": 0}
    # what was known at T0 + 30.5 s: no call's caller had ended yet
    assert not list(time_outside(trace.spans, int((T0 + 30.5) * 1e9)))
    samples = [(span_entity("east", s), s.start_ns / 1e9, ms)
               for s, ms in time_outside(trace.spans)]  # fmt: skip
    [cart] = call_time_signals(samples, T0 - 300, T0 + 600)
    assert (cart.entity, cart.name, cart.kind) == ("east pod shop/cart-0", CALL_TIME,
                                                   SignalKind.RESOURCE)  # fmt: skip
    known = np.isfinite(cart.values)
    # each minute's median, stamped at the minute's end; a minute without calls is unknown
    assert cart.timestamps[known].tolist() == [T0 + 60, T0 + 180]
    assert cart.values[known].tolist() == [50, 850]
    assert known.sum() == 2 and np.all(np.diff(cart.timestamps) == 60)
    assert cart.timestamps[-1] == T0 + 600  # the last minute: known at the end


class _TempoDown:
    """Logs and traces whose Tempo answers nothing (every search and trace fails)."""

    async def traces(self, cluster: str, **_kw: Any) -> list[Any]:
        raise CollectorError(f"tempo {cluster}: HTTP 503 Service Unavailable", status=503)

    async def trace(self, cluster: str, trace_id: str) -> Trace:
        raise CollectorError(f"tempo {cluster}: HTTP 503 Service Unavailable", status=503)


class _Registry:
    def get(self, name: str) -> Any:
        class Spec:
            def endpoint(self, kind: EndpointKind) -> str:
                return "https://tempo.example" if kind is EndpointKind.TEMPO else ""

        return Spec()


@pytest.mark.asyncio
async def test_a_tempo_that_answers_nothing_is_said_and_ranked_without() -> None:
    around = LogsTracesAround(cast(Any, _TempoDown()), cast(Any, _Registry()))
    read = await around.read(["east"], Window(T0, analysis_s=T0 + 300))
    assert not read.signals and not read.traces
    assert any(u.startswith("east traces' call times: tempo east: HTTP 503") for u in read.unread)
    assert any(u.startswith("east traces: ") for u in read.unread)


class _TempoSlow(_TempoDown):
    """A Tempo that finds a trace a minute and opens those of the window's first three
    minutes (from 08:30), then hangs."""

    async def traces(self, cluster: str, **kw: Any) -> list[Any]:
        start = kw["start"].timestamp()
        return [TraceSummary(trace_id=f"{int(start):032x}", root_service="front",
                             root_name="op", start_ns=int(start * 1e9), duration_ms=900.0,
                             cluster=cluster)]  # fmt: skip

    async def trace(self, cluster: str, trace_id: str) -> Trace:
        if int(trace_id, 16) >= T0 - 1800 + 180:
            await asyncio.sleep(3600)
        at = int(trace_id, 16) + 10
        return Trace(trace_id=trace_id, cluster=cluster, spans=[
            span("0" * 15 + "1", None, "front", at, 900),
            span("0" * 15 + "2", "0" * 15 + "1", "cart", at + 1, 800),
        ])  # fmt: skip


@pytest.mark.asyncio
async def test_sampling_that_takes_too_long_ranks_with_what_was_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rca_logs_traces, "TRACES_WITHIN_S", 0.3)
    around = LogsTracesAround(cast(Any, _TempoSlow()), cast(Any, _Registry()))
    read = await asyncio.wait_for(around.read(["east"], Window(T0, analysis_s=T0 + 300)), 10)
    said = [u for u in read.unread if "call times" in u]
    # 35 minutes searched (08:30 to 09:05), 35 traces to open: 32 hang
    assert said == ["east traces' call times: 32 of 70 reads did not finish within 0.3 s "
                    "(ranked with 3 traces)"]  # fmt: skip
    [cart] = [s for s in read.signals if s.name == CALL_TIME]
    assert np.nansum(np.isfinite(cart.values)) == 3 and np.nanmax(cart.values) == 100
    assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


class _TempoMostGone(_TempoSlow):
    """As ``_TempoSlow``, but the traces after the first three minutes are gone (404)."""

    async def trace(self, cluster: str, trace_id: str) -> Trace:
        if int(trace_id, 16) >= T0 - 1800 + 180:
            raise CollectorError(f"tempo {cluster}: trace not found", status=404)
        return await super().trace(cluster, trace_id)


@pytest.mark.asyncio
async def test_call_times_read_in_part_rank_with_what_was_read_and_say_so() -> None:
    around = LogsTracesAround(cast(Any, _TempoMostGone()), cast(Any, _Registry()))
    read = await around.read(["east"], Window(T0, analysis_s=T0 + 300))
    assert [u for u in read.unread if "call times" in u] == [
        "east traces' call times: 32 of 70 reads failed (tempo east: trace not found; "
        "ranked with 3 traces)"]  # fmt: skip
    [cart] = [s for s in read.signals if s.name == CALL_TIME]
    assert np.isfinite(cart.values).sum() == 3


class _TempoOneGone(_TempoDown):
    """Three failing traces found; the second is gone when it is opened."""

    async def traces(self, cluster: str, **kw: Any) -> list[Any]:
        if kw.get("traceql") == "{}":
            return []
        return [TraceSummary(trace_id=f"{n:032x}", root_service="front", root_name="op",
                             start_ns=int((T0 + n) * 1e9), duration_ms=900.0, cluster=cluster)
                for n in (1, 2, 3)]  # fmt: skip

    async def trace(self, cluster: str, trace_id: str) -> Trace:
        if int(trace_id, 16) == 2:
            raise CollectorError(f"tempo {cluster}: trace {trace_id} not found", status=404)
        one = "0" * 15
        return Trace(trace_id=trace_id, cluster=cluster, spans=[
            span(one + "1", None, "front", T0 + 10, 900),
            span(one + "2", one + "1", "cart", T0 + 11, 800, failed=True),
        ])  # fmt: skip


@pytest.mark.asyncio
async def test_a_failing_trace_gone_since_the_search_leaves_the_others_read() -> None:
    around = LogsTracesAround(cast(Any, _TempoOneGone()), cast(Any, _Registry()))
    read = await around.read(["east"], Window(T0, analysis_s=T0 + 300))
    assert [t.trace_id[-1] for t in read.traces] == ["1", "3"]
    assert read.unread == ["east traces: 1 of 3 failing traces could not be read (tempo east: "
                           f"trace {2:032x} not found)"]  # fmt: skip
    failed = {s.entity: s.values.sum() for s in read.signals if s.name == "failed spans"}
    assert failed == {"east pod shop/front-0": 0, "east pod shop/cart-0": 2}  # the two read


@pytest.mark.integration
@pytest.mark.asyncio
async def test_each_minute_s_newest_traces_give_each_pod_s_call_times(
    lab_core: Core, loki_tempo: RunningLokiTempo
) -> None:
    at = datetime(2023, 1, 29, 9, 3, 53, tzinfo=UTC).timestamp()
    asked = len(loki_tempo.requests())
    around = LogsTracesAround(lab_core.logs_traces, lab_core.registry)
    read = await around.read(["lab"], Window(at, analysis_s=at + 120))
    assert not read.unread
    outside = {s.entity: s for s in read.signals if s.name == CALL_TIME}
    basic = outside["lab pod train-ticket/ts-basic-service-5dc8d4f9fd-46997"]
    known = np.isfinite(basic.values)
    assert basic.timestamps[known].min() < at - 600  # a baseline (08:40 on)
    assert basic.timestamps[known].max() <= at + 120  # and nothing after the analysis time
    assert np.all(basic.values[known] >= 0) and np.median(basic.values[known]) > 0
    new = [urlsplit(r.split(" ", 1)[1]) for r in loki_tempo.requests()[asked:]]
    searches = [parse_qs(u.query) for u in new if u.path.endswith("/api/search")]
    searches = [q for q in searches if q.get("q") == ["{}"]]
    assert len(searches) == 33  # 08:33 to 09:05, a minute each
    assert all(int(q["end"][0]) - int(q["start"][0]) <= 61 for q in searches)
    assert all(int(q["end"][0]) <= at + 121 and q["limit"] == [str(SAMPLED_PER_STEP)]
               for q in searches)  # fmt: skip
    opened = [u for u in new if "/api/traces/" in u.path]
    assert SAMPLED_PER_STEP < len(opened) <= SAMPLED_PER_STEP * len(searches) + 15


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


class _LokiHangs(_TempoSlow):
    """Logs whose Loki never answers a count (Tempo as ``_TempoSlow``, opening every trace)."""

    async def counts(self, cluster: str, *_a: Any, **_kw: Any) -> list[Any]:
        await asyncio.sleep(3600)
        return []

    async def trace(self, cluster: str, trace_id: str) -> Trace:
        at = int(trace_id, 16) + 10
        return Trace(trace_id=trace_id, cluster=cluster, spans=[
            span("0" * 15 + "1", None, "front", at, 900),
            span("0" * 15 + "2", "0" * 15 + "1", "cart", at + 1, 800),
        ])  # fmt: skip


class _BothRegistry(_Registry):
    def get(self, name: str) -> Any:
        class Spec:
            def endpoint(self, kind: EndpointKind) -> str:
                return "https://x.example"

        return Spec()


@pytest.mark.asyncio
async def test_a_read_that_never_ends_is_cut_and_what_was_read_is_ranked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every read has its bound, and so has the whole: a Loki that never answers its count
    costs READ_WITHIN_S, not the analysis; Tempo's call times, read by then, are kept."""
    monkeypatch.setattr(rca_logs_traces, "READ_WITHIN_S", 0.5)
    around = LogsTracesAround(cast(Any, _LokiHangs()), cast(Any, _BothRegistry()))
    read = await asyncio.wait_for(around.read(["east"], Window(T0, analysis_s=T0 + 300)), 10)
    assert "logs and traces: not all read within 0.5 s (ranked with what was)" in read.unread
    assert [s for s in read.signals if s.name == CALL_TIME]
    assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


class _LokiQuotes(_TempoDown):
    """A Loki whose error lines carry a token and a password, as real ones can."""

    async def logs(self, cluster: str, query: str, **_kw: Any) -> Any:
        from aiops_desktop.models.observability import LogEntry, LogResult

        line = "auth failed: Authorization: Bearer eyJhbGciOi.eyJzdWIiOi.c2lnbmF0 password=hunter2"
        return LogResult(entries=[LogEntry(cluster=cluster, timestamp_ns=int(T0 * 1e9),
                                           line=line)])  # fmt: skip


@pytest.mark.asyncio
async def test_quoted_lines_and_span_errors_carry_no_secret() -> None:
    """What RCA quotes (the JSON, the page's tips, the incident report) is a server's text:
    redacted as every other server text is, before it is cut."""
    around = LogsTracesAround(cast(Any, _LokiQuotes()), cast(Any, _BothRegistry()))
    quotes = await around.quotes(["east pod shop/cart-0"], Window(T0, analysis_s=T0 + 300))
    [(_, line)] = quotes["east pod shop/cart-0"]
    assert "hunter2" not in line and "eyJhbGciOi" not in line and "[REDACTED]" in line
    failed = span("0" * 15 + "1", None, "cart", T0 + 30, 10, failed=True).model_copy(
        update={"status_message": "db login failed: password=hunter2"})  # fmt: skip
    [quoted] = failing_through([Trace(trace_id="a" * 32, cluster="east", spans=[failed])],
                               "east pod shop/cart-0", T0 + 600)  # fmt: skip
    assert "hunter2" not in quoted.error and "[REDACTED]" in quoted.error


def test_an_empty_ranking_in_the_report_is_never_an_all_clear() -> None:
    """An incident report's RCA section that read nothing, or read series none of which had a
    baseline (every signal with one is ranked, at confidence 0 if it did not move), does not
    say "nothing deviated" (the CLI and the page refuse that all-clear too)."""
    from aiops_desktop.models.incidents import RcaReport

    def empty(read: int) -> str:
        section, _ = rca_section(RcaReport("INC-1", "30 min before to 5 min after", read, []))
        return section.tables[0].empty

    assert empty(12) == (
        "12 signals read, but no signal had a baseline to compare against: "
        "nothing can be said to have deviated or not"
    )
    assert empty(0).startswith("nothing was read in the window")
