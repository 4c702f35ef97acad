"""RCA's service around the ranking: the window is anchored on each place's first worst
signal (a finding first seen at a capture's end does not hide the anomaly it repeats), the
work over hundreds of sampled traces runs off the event loop (the UI thread under qasync),
the lines quoted are the ones at the change (not the baseline's trickle), and a capture
counts the error lines of the window's last, partial minute as live Loki does."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aiops_desktop.models.enums import LogDirection, SpanStatus
from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.incidents import IncidentSignal
from aiops_desktop.models.observability import (
    LogEntry,
    LogResult,
    Span,
    Trace,
    TraceSummary,
)
from aiops_desktop.services.intelligence import rca_logs_traces
from aiops_desktop.services.intelligence.rca import rca_anchor
from aiops_desktop.services.intelligence.rca_logs_traces import ERROR_VOLUME, LogsTracesAround
from aiops_desktop.services.intelligence.rca_topology import TopologyRead
from aiops_desktop.services.outputs.recorded_logs import RecordedLogsTraces, RecordedLogsTracesDoc
from analysis.rca.model import Window
from analysis.rca.traces import SAMPLED_PER_STEP, error_log_signals

NOW = datetime(2026, 12, 6, 7, 52, 6, tzinfo=UTC)
GPU = "east gpu-0/gpu5"


def _signal(key: str, entity: str, first: datetime, last: datetime = NOW, *,
            severity: FindingSeverity = FindingSeverity.CRITICAL,
            grouped: datetime | None = None) -> IncidentSignal:  # fmt: skip
    """``grouped``: when the app first grouped it (equal to ``first``: dated when read)."""
    return IncidentSignal(key=key, source="GPU", cluster="east", subject=entity.partition(" ")[2],
                          severity=severity, reason="GPU at 84 C", first_seen=first,
                          last_seen=last, entity=entity, grouped_at=grouped)  # fmt: skip


def test_a_place_s_later_signal_is_no_new_onset() -> None:
    """The sample capture's GPU: its anomaly began an hour ago and is still seen; the finding
    about the same GPU, first seen at the capture's end, repeats it: the window is the
    anomaly's onset, not the finding's (it read the GPU at 84 C before and after: z 0)."""
    anomaly = _signal("anomaly|gpu5", GPU, NOW - timedelta(hours=1))
    finding = _signal("GPU|gpu5", GPU, NOW, grouped=NOW)  # no "since": dated when read
    assert rca_anchor([anomaly, finding]) == anomaly.first_seen
    # one with an onset of its own is one: an XID 79 that came now on a GPU hot for two days
    # (review D2: the window was the heat's, two days before the XID)
    hot = _signal("anomaly|gpu5|hot", GPU, NOW - timedelta(days=2))
    xid = _signal("GPU|gpu5|xid", GPU, NOW - timedelta(minutes=2), grouped=NOW)
    assert rca_anchor([hot, xid]) == xid.first_seen
    # a place's signal that ended long before the new one began is no cover: the new one's
    # onset (an XID 79 today is not read from the same GPU's XID of three days ago)
    ended = _signal("GPU|gpu5|old", GPU, NOW - timedelta(days=3), NOW - timedelta(days=3))
    assert rca_anchor([ended, finding]) == finding.first_seen
    # a days-old warning of the same place does not pull the window from its new critical
    warned = _signal("warn|gpu5", GPU, NOW - timedelta(days=3),
                     severity=FindingSeverity.WARNING)  # fmt: skip
    assert rca_anchor([warned, finding]) == finding.first_seen
    # another place's critical of an hour ago is still not this one's cover: the newest onset
    other = _signal("anomaly|gpu3", "east gpu-1/gpu3", NOW - timedelta(hours=1))
    assert rca_anchor([other, finding]) == finding.first_seen
    # with the places each at their first: a cascade of equals read from its first
    near = _signal("anomaly|gpu3b", "east gpu-1/gpu3", NOW - timedelta(minutes=10))
    assert rca_anchor([anomaly, finding, near]) == near.first_seen
    late = _signal("GPU|gpu3b", "east gpu-1/gpu3", NOW - timedelta(minutes=2))
    assert rca_anchor([near, late, _signal("x", GPU, NOW - timedelta(minutes=20))]) == (
        NOW - timedelta(minutes=20)
    )


END = 1_765_000_000.0


def _trace(i: int, start_s: float) -> Trace:
    t0 = int((start_s + (i // SAMPLED_PER_STEP) * 60 + 1) * 1e9)
    tid = f"{i + 1:032x}"
    spans = [Span(trace_id=tid, span_id=f"{j + 1:016x}",
                  parent_span_id=f"{j:016x}" if j else None, service_name=f"svc{j}",
                  operation="op", start_ns=t0 + j, duration_ns=10_000_000 - j,
                  status=SpanStatus.ERROR if j == 2 else SpanStatus.UNSET,
                  attributes={"k8s.pod.name": f"p{j}", "k8s.namespace.name": "ns"})
             for j in range(3)]  # fmt: skip
    return Trace(trace_id=tid, cluster="east", spans=spans)


class _Tempo:
    """Tempo answering at once: each minute's traces, and each trace by id."""

    def __init__(self, start_s: float) -> None:
        minutes = int((END - start_s) // 60)
        self.start_s = start_s
        self.kept = [_trace(i, start_s) for i in range(minutes * SAMPLED_PER_STEP)]

    async def traces(self, cluster: str, *, start: datetime, end: datetime,
                     traceql: str | None = None, limit: int = 20,
                     **_k: Any) -> list[TraceSummary]:  # fmt: skip
        m = int((start.timestamp() - (self.start_s - self.start_s % 60)) // 60)
        found = self.kept[m * SAMPLED_PER_STEP : (m + 1) * SAMPLED_PER_STEP]
        if traceql is not None:  # the failing ones of the window
            found = self.kept[:limit]
        return [TraceSummary(trace_id=t.trace_id) for t in found]

    async def trace(self, cluster: str, trace_id: str) -> Trace:
        return self.kept[int(trace_id, 16) - 1]


@pytest.mark.asyncio
async def test_the_sampled_traces_are_worked_through_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Hundreds of traces of up to 20,000 spans each: walking them on the loop stalled the
    UI for seconds. The spans' call times and the failing traces' signals are worked out in
    a worker thread; the loop only waits."""
    loop_thread = threading.get_ident()
    ran_on: dict[str, set[int]] = {"time_outside": set(), "trace_signals": set()}
    time_outside, trace_signals = rca_logs_traces.time_outside, rca_logs_traces.trace_signals

    def outside(*a: Any, **k: Any) -> Any:
        ran_on["time_outside"].add(threading.get_ident())
        return time_outside(*a, **k)

    def signals(*a: Any, **k: Any) -> Any:
        ran_on["trace_signals"].add(threading.get_ident())
        return trace_signals(*a, **k)

    monkeypatch.setattr(rca_logs_traces, "time_outside", outside)
    monkeypatch.setattr(rca_logs_traces, "trace_signals", signals)
    window = Window(END - 300, analysis_s=END)
    start_s = window.detect_s - window.before_s
    around = LogsTracesAround(_Tempo(start_s), None)  # type: ignore[arg-type]
    out = TopologyRead()
    await around._call_times("east", start_s, window.end_s, out)
    start, end = (datetime.fromtimestamp(t, UTC) for t in (start_s, window.end_s))
    await around._failing_traces("east", start, end, out)
    assert ran_on["time_outside"] and ran_on["trace_signals"]  # what was read was worked on
    assert loop_thread not in ran_on["time_outside"] | ran_on["trace_signals"]
    assert out.signals and out.edges and out.traces and not out.unread


DETECT = 1_765_000_000.0
POD = "east pod shop/cart-0"


class _Loki:
    """Loki's semantics: lines in [start, end), FORWARD oldest first, the first ``limit``."""

    def __init__(self, lines: list[tuple[float, str]]) -> None:
        self.lines = lines

    async def logs(self, cluster: str, q: str, *, start: datetime, end: datetime, limit: int,
                   direction: LogDirection, **_k: Any) -> LogResult:  # fmt: skip
        got = sorted((t, x) for t, x in self.lines if start.timestamp() <= t < end.timestamp())
        if direction is LogDirection.BACKWARD:
            got.reverse()
        return LogResult(entries=[LogEntry(cluster=cluster, timestamp_ns=int(t * 1e9), line=x,
                                           labels={}) for t, x in got[:limit]])  # fmt: skip


class _Registry:
    def get(self, name: str) -> Any:
        class Cluster:
            def endpoint(self, kind: Any) -> str:
                return "http://loki"

        return Cluster()


def test_the_lines_quoted_are_the_change_s_not_the_baseline_s() -> None:
    """A pod with a trickle of old, harmless errors, then a burst of OOMs at the change: the
    burst is quoted (from the change on, oldest first); where nothing came after the change,
    the lines nearest before it."""
    trickle = [(DETECT - 1700 + 300 * i, f"WARN error retrying cache warm-up {i}")
               for i in range(5)]  # fmt: skip
    burst = [(DETECT - 60 + i, f"ERROR OOMKilled #{i}") for i in range(20)]
    window = Window(DETECT, analysis_s=DETECT + 300)
    around = LogsTracesAround(_Loki(trickle + burst), _Registry())  # type: ignore[arg-type]
    quoted = asyncio.run(around.quotes([POD], window))[POD]
    assert [x for _, x in quoted] == [f"ERROR OOMKilled #{i}" for i in range(5)]
    around = LogsTracesAround(_Loki(trickle), _Registry())  # type: ignore[arg-type]
    quoted = asyncio.run(around.quotes([POD], window))[POD]
    assert [x for _, x in quoted] == [x for _, x in trickle]  # oldest first, as ever
    older = [(DETECT - 1790 + i, f"ERROR old {i}") for i in range(3)]
    around = LogsTracesAround(_Loki(older + trickle), _Registry())  # type: ignore[arg-type]
    quoted = asyncio.run(around.quotes([POD], window))[POD]
    assert [x for _, x in quoted] == [x for _, x in trickle]  # the nearest before the change


def test_a_capture_counts_the_last_partial_minute_as_live_loki_does() -> None:
    """The analysis time 07:52:40; 20 error lines at 07:52:10-29: a capture stamped them at
    07:53:00 (their clock minute's end), after the window, and RCA read none of them; live
    Loki's points are start + k * step, so they are read at the window's end."""
    end = datetime(2026, 12, 6, 7, 52, 40, tzinfo=UTC).timestamp()
    start = end - 2090  # its steps' ends are not the clock's minutes, nor at the end
    labels = {"k8s_namespace_name": "shop", "k8s_pod_name": "cart-0"}
    at = [end - 30 + i for i in range(20)] + [start + 61.5, start + 120]
    lines = [LogEntry(cluster="lab", timestamp_ns=int(t * 1e9), line=f"ERROR boom {n}",
                      labels=labels) for n, t in enumerate(at)]  # fmt: skip
    recorded = RecordedLogsTraces(RecordedLogsTracesDoc(lines=lines), lambda: ["lab"])
    (series,) = asyncio.run(recorded.counts(
        "lab", ERROR_VOLUME, start=datetime.fromtimestamp(start, UTC),
        end=datetime.fromtimestamp(end, UTC), step_s=60))  # fmt: skip
    # a line counts in the first point at or after it (a point counts the step before it)
    assert series.points == [(start + 120, 2.0), (end, 20.0)]
    (signal,) = error_log_signals("lab", [(series.labels, series.points)], start, end)
    assert signal.values.sum() == len(lines)
