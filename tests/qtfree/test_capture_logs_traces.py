"""A capture keeps its window's error lines and failing traces where its clusters have Loki or
Tempo, and an opened capture answers from them offline (LogQL selectors and filters, the
volume, trace searches and traces), RCA quoting the kept lines; a crafted document is refused
with a clear message and nothing opened."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio

from aiops_desktop.services.core import Core
from aiops_desktop.services.intelligence.rca_logs_traces import LogsTracesAround
from aiops_desktop.services.intelligence.rca_topology import TopologyRead
from aiops_desktop.services.outputs.capture import export_capture, open_capture
from aiops_desktop.services.outputs.recorded_logs import LOGS_TRACES_KEY, MOST_SPANS
from aiops_desktop.store.capture import CaptureError
from analysis.rca.model import Window
from analysis.rca.traces import CALL_TIME

pytestmark = pytest.mark.integration
END = datetime(2023, 1, 29, 9, 8, 53, tzinfo=UTC)  # 5 min after basic-service's fault
POD = "ts-basic-service-5dc8d4f9fd-46997"


@pytest_asyncio.fixture
async def capture(lab_core: Core, tmp_path: Path) -> AsyncIterator[Path]:
    out = tmp_path / "lab.aiops"
    await export_capture(lab_core, out, clusters=["lab"], since=timedelta(minutes=30), until=END)
    yield out


@pytest.mark.asyncio
async def test_an_opened_capture_answers_logs_traces_and_rca_offline(capture: Path) -> None:
    core = open_capture(capture)
    try:
        await core.registry.load()  # as the window and every command do first
        logs = core.logs_traces
        start = END - timedelta(minutes=30)
        found = await logs.logs("lab", f'{{k8s_pod_name="{POD}"}} |= "ERROR"', start=start,
                                end=END, limit=50)  # fmt: skip
        assert found.entries and all(e.labels["k8s_pod_name"] == POD for e in found.entries)
        assert all(start.timestamp() * 1e9 <= e.timestamp_ns < END.timestamp() * 1e9
                   for e in found.entries)  # fmt: skip
        step, volume = await logs.volume("lab", f'{{k8s_pod_name="{POD}"}}', start=start, end=END)
        assert step == 30 and sum(v for s in volume for _, v in s.points) >= len(found.entries)
        traces = await logs.traces("lab", start=start, end=END, traceql="{ status = error }")
        assert traces and all(t.cluster == "lab" for t in traces)
        trace = await logs.trace("lab", traces[0].trace_id)
        assert trace.has_error and len(trace.spans) <= MOST_SPANS
        with pytest.raises(Exception, match="no live tail"):
            async for _ in logs.tail("lab", f'{{k8s_pod_name="{POD}"}}'):
                pass
        result = await core.rca.for_cluster("lab", ["lab"], END)
        quoted = [e for e in result.quotes if POD in e]
        assert quoted and "ERROR" in result.quotes[quoted[0]][0][1]
    finally:
        await core.shutdown()


def test_a_crafted_logs_document_is_refused(capture: Path, tmp_path: Path) -> None:
    crafted = tmp_path / "crafted.aiops"
    crafted.write_bytes(capture.read_bytes())
    with sqlite3.connect(crafted) as conn:
        conn.execute("UPDATE app_meta SET value = ? WHERE key = ?",
                     ('{"lines": [{"cluster": "lab", "timestamp_ns": -1, "line": "x"}]}',
                      LOGS_TRACES_KEY))  # fmt: skip
    with pytest.raises(CaptureError, match="recorded logs and traces are not what this app writes"):
        open_capture(crafted)


@pytest.mark.asyncio
async def test_rca_on_a_capture_samples_call_times_as_it_does_live(
    lab_core: Core, capture: Path
) -> None:
    """The time calls spend outside a pod is read from each minute's newest traces: a
    capture keeps those of its last minutes (not only its failing traces), so RCA on the
    capture, offline, reads what it read live."""
    window = Window(END.timestamp() - 300, analysis_s=END.timestamp())
    live = await LogsTracesAround(lab_core.logs_traces, lab_core.registry).read(["lab"], window)
    core = open_capture(capture)
    try:
        await core.registry.load()
        kept = await LogsTracesAround(core.logs_traces, core.registry).read(["lab"], window)
    finally:
        await core.shutdown()
    since = (END - timedelta(minutes=30)).timestamp() + 60  # the capture's whole minutes

    def medians(read: TopologyRead) -> dict[tuple[str, float], float]:
        return {(s.entity, float(t)): float(v) for s in read.signals if s.name == CALL_TIME
                for t, v in zip(s.timestamps, s.values, strict=True)
                if np.isfinite(v) and t > since}  # fmt: skip

    on_live, on_capture = medians(live), medians(kept)
    assert len({entity for entity, _ in on_capture}) >= 3
    same = [k for k, v in on_live.items() if k in on_capture and on_capture[k] == pytest.approx(v)]
    assert len(same) >= 0.8 * len(on_live), (len(same), len(on_live), len(on_capture))


@pytest.mark.asyncio
async def test_the_kept_lines_and_traces_carry_no_secret() -> None:
    """A log line is where a secret is most often written: what an export keeps of the
    window's error lines and failing traces is redacted (line, labels, span status message,
    attributes, events)."""
    from aiops_desktop.models import EndpointKind
    from aiops_desktop.models.cluster import Cluster, Endpoint
    from aiops_desktop.models.enums import SpanStatus
    from aiops_desktop.models.observability import LogEntry, Span, SpanEvent, Trace
    from aiops_desktop.services.outputs.recorded_logs import (
        RecordedLogsTraces,
        RecordedLogsTracesDoc,
        record_logs_traces,
    )

    secret = "password=Hunt3r2-pw"
    at = int((END - timedelta(minutes=1)).timestamp() * 1e9)
    labels = {"k8s_namespace_name": "db", "k8s_pod_name": "db-0", "dsn": secret}
    span = Span(trace_id="a" * 32, span_id="b" * 16, service_name="db", operation="q",
                start_ns=at, duration_ns=1000, status=SpanStatus.ERROR,
                status_message=f"auth failed {secret}", attributes={"db.url": secret},
                events=[SpanEvent(timestamp_ns=at, name=f"retry {secret}")])  # fmt: skip
    doc = RecordedLogsTracesDoc(
        lines=[
            LogEntry(cluster="lab", timestamp_ns=at, line=f"ERROR login {secret}", labels=labels)
        ],
        traces=[Trace(trace_id="a" * 32, cluster="lab", spans=[span])],
    )
    logs = RecordedLogsTraces(doc, lambda: ["lab"])
    lab = Cluster(
        name="lab",
        endpoints=[
            Endpoint(kind=k, url="http://127.0.0.1:9")
            for k in (EndpointKind.LOKI, EndpointKind.TEMPO)
        ],
    )
    kept = await record_logs_traces(logs, [lab], END - timedelta(minutes=30), END)
    assert "ERROR login" in kept and "auth failed" in kept  # what was kept...
    assert "Hunt3r2-pw" not in kept  # ...without the secret


def test_logs_and_traces_on_a_capture_search_up_to_its_end(
    capture: Path,
    tmp_path: Path,
    secret_service,  # type: ignore[no-untyped-def]
) -> None:
    """`logs` and `traces` on a capture read the window that ends where its data ends: the
    default window ended at the wall clock's now, so a capture older than it had "no trace
    matched" though it held them."""
    from tests.qtfree.cli_runner import run_cli

    env, home = dict(secret_service.env), tmp_path / "home"
    lines = run_cli(home, env, "--capture", str(capture), "logs", "--cluster", "lab",
                    "--since", "30m", f'{{k8s_pod_name="{POD}"}} |= "ERROR"')  # fmt: skip
    assert lines.returncode == 0, lines.stderr
    assert "ERROR" in lines.stdout
    traces = run_cli(home, env, "--capture", str(capture), "traces", "--cluster", "lab",
                     "--errors", "--since", "30m")  # fmt: skip
    assert traces.returncode == 0, traces.stderr
    assert "no trace matched" not in traces.stdout + traces.stderr
