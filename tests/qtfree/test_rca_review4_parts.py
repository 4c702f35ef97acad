"""RCA's parts beside the service (review 4): a hub member's topology is its own, a cut
capture's error-line counts are read only where they are whole, a latency past the largest
histogram bucket (+Inf) is the worst deviation there is, and every clock class the app knows
has its runbook entry."""

from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.observability import LogEntry
from aiops_desktop.services.gpu_cnf.ptp import _class_notes
from aiops_desktop.services.intelligence.rca import RcaService
from aiops_desktop.services.intelligence.rca_logs_traces import LogsTracesAround
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.services.outputs.recorded_logs import (
    LinesRead,
    RecordedLogsTraces,
    RecordedLogsTracesDoc,
)
from aiops_desktop.settings import resources_dir
from aiops_desktop.store.database import Database
from aiops_desktop.store.series import SeriesBatch, SeriesStore
from analysis.ptp_compliance import CLASS_MEANING
from analysis.rca.model import Signal, SignalKind, Window
from analysis.rca.runbook import Runbook
from analysis.rca.score import FLAT_BASELINE_Z, INFINITE_Z, ONSET_Z, deviation, rank

# -- a hub member's topology -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_members_rca_reads_its_own_vfs_and_ptp_ports_not_its_hub_neighbours() -> None:
    """The sample capture's hub (ran-hub) holds ran-east's and ran-west's PTP ports and VFs:
    RCA of ran-east read both, and ranked ran-west's VFs as causes of ran-east's change."""
    core = await asyncio.to_thread(open_capture, resources_dir() / "samples" / "sample.aiops")
    try:
        await core.registry.load()
        topology = core.rca._topology
        assert topology is not None
        now = core.now().timestamp()
        window = Window(now - 300, analysis_s=now)
        east = await topology.read(["ran-east"], window)
        assert east.signals and east.edges
        assert {s.entity.split()[0] for s in east.signals} == {"ran-east"}
        assert {n.split()[0] for edge in east.edges for n in edge} == {"ran-east"}
        # the hub itself still reads every member's
        hub = await topology.read(["ran-hub"], window)
        assert {"ran-east", "ran-west"} <= {s.entity.split()[0] for s in hub.signals}
        result = await core.rca.for_cluster("ran-east", ["ran-east"], core.now())
        assert [c.entity for c in result.causes if c.entity.startswith("ran-west")] == []
    finally:
        await core.shutdown()


# -- a cut capture's error-line counts ---------------------------------------------------------

END = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # the capture's end
AT = END - timedelta(minutes=20)  # the incident; RCA reads to 5 min after it
LABELS = {"k8s_namespace_name": "app", "k8s_pod_name": "noisy-0"}
#: 10 error lines a minute for 2 hours: a pod that errs steadily, no change at all
EVERY = [
    LogEntry(cluster="c1", timestamp_ns=int((END - timedelta(seconds=s)).timestamp() * 1e9),
             line=f"ERROR upstream timeout id={s}", labels=LABELS)
    for s in range(0, 7200, 6)
]  # fmt: skip
KEPT = sorted(EVERY, key=lambda e: -e.timestamp_ns)[:300]  # the newest: cut 30 min before END
COUNTS = 'sum by (k8s_pod_name) (count_over_time({k8s_namespace_name=~".+"} |= "ERROR" [1m]))'


def _cut() -> RecordedLogsTraces:
    doc = RecordedLogsTracesDoc(lines=KEPT, logs_read={"c1": LinesRead(truncated=True)})
    return RecordedLogsTraces(doc, lambda: ["c1"])


def test_a_cut_captures_counts_say_so_where_they_reach_back_before_its_oldest_kept_line() -> None:
    logs = _cut()
    oldest = min(e.timestamp_ns for e in KEPT) / 1e9
    assert logs.kept_from("c1") == oldest
    before = asyncio.run(logs.counted("c1", COUNTS, start=AT - timedelta(minutes=30),
                                      end=AT, step_s=60))  # fmt: skip
    assert before.truncated and before.series
    assert "kept the newest 300 of c1's error lines" in before.notes[-1]
    # one whose every step's window is after the oldest kept line misses nothing
    after = asyncio.run(logs.counted("c1", COUNTS, start=END - timedelta(minutes=10), end=END,
                                     step_s=60))  # fmt: skip
    assert not after.truncated and after.notes == []
    # counts() answers the same series
    same = asyncio.run(logs.counts("c1", COUNTS, start=AT - timedelta(minutes=30), end=AT,
                                   step_s=60))  # fmt: skip
    assert same == before.series
    whole = RecordedLogsTraces(RecordedLogsTracesDoc(lines=EVERY), lambda: ["c1"])
    assert whole.kept_from("c1") is None


class _Registry:
    def get(self, name: str) -> Any:
        return SimpleNamespace(endpoint=lambda kind: "http://loki" if kind is EndpointKind.LOKI
                               else None)  # fmt: skip


class _NoSeries:
    def read(self, *_a: Any, **_kw: Any) -> list[Any]:
        return []


def _rca(logs: RecordedLogsTraces) -> Any:
    around = LogsTracesAround(logs, _Registry())  # type: ignore[arg-type]
    service = RcaService(_NoSeries(), [], logs_traces=around)  # type: ignore[arg-type]
    return asyncio.run(service.for_cluster("c1", ["c1"], AT))


def test_a_steadily_erring_pod_is_no_cause_where_the_capture_cut_its_older_lines() -> None:
    """Counted from the kept lines only, the pod's count read 0 before the cut and 10 a
    minute after: a rise of z 3.9 that ranked it; with every line kept it showed none."""
    whole = _rca(RecordedLogsTraces(RecordedLogsTracesDoc(lines=EVERY), lambda: ["c1"]))
    count = {e.signal: e for e in whole.causes[0].evidence}["error log lines"]
    assert count.z < ONSET_Z and count.first_deviation_s is None
    cut = _rca(_cut())
    oldest = min(e.timestamp_ns for e in KEPT) / 1e9
    since = datetime.fromtimestamp(oldest, UTC).strftime("%H:%M:%S UTC")
    said = [u for u in cut.unread if u.startswith("c1 error log lines: ")]
    assert said and since in said[0], cut.unread
    found = {e.signal: e for c in cut.causes for e in c.evidence}
    counted = found["error log lines"]
    assert counted.z < ONSET_Z and counted.first_deviation_s is None
    assert counted.baseline == pytest.approx(10.0)  # the steps it had in full, not zeros


# -- +Inf: latency past the largest bucket -----------------------------------------------------

T0 = 1_700_000_000.0
TS = np.arange(T0 - 40 * 60, T0 + 5 * 60 + 1, 15.0)
WINDOW = Window(T0, analysis_s=T0 + 300)


def _p99(seed: int = 2) -> np.ndarray:
    return 0.2 + np.random.default_rng(seed).normal(0, 0.01, TS.size)


def test_a_latency_at_plus_inf_is_the_largest_deviation_not_none() -> None:
    values = _p99()
    beyond = TS >= T0 - 4 * 60
    values[beyond] = np.inf
    ev = deviation(Signal("c1", "apiserver_p99", SignalKind.LATENCY, TS, values), WINDOW)
    assert ev is not None and np.isfinite(ev.z) and np.isfinite(ev.baseline)
    # from 4 min before the incident: the first 2 min of it in the baseline (its lead),
    # read there as its largest finite sample; the window's first is the onset
    assert ev.peak == np.inf and ev.first_deviation_s == WINDOW.change_s
    assert ev.baseline == pytest.approx(0.2, abs=0.01)
    # no less than the same series held at its largest bucket (60 s, z ~4,000)
    capped = deviation(Signal("c1", "apiserver_p99", SignalKind.LATENCY, TS,
                              np.where(np.isinf(values), 60.0, values)), WINDOW)  # fmt: skip
    assert capped is not None and ev.z >= capped.z
    # beside a mild CPU rise of a node, ranked no lower than the capped series
    cpu = 30 + np.random.default_rng(3).normal(0, 1, TS.size)
    cpu[beyond] += 4

    def share(p99: np.ndarray) -> float:
        ranked = rank([Signal("c1", "apiserver_p99", SignalKind.LATENCY, TS, p99),
                       Signal("c1 node w1", "node_cpu", SignalKind.RESOURCE, TS, cpu)],
                      WINDOW)  # fmt: skip
        return {c.entity: c.confidence for c in ranked}["c1"]

    assert share(values) >= share(np.where(np.isinf(values), 60.0, values)) > 0.4


def test_plus_inf_after_a_flat_baseline_keeps_the_flat_cap_and_nan_is_still_dropped() -> None:
    values = np.full(TS.size, 0.5)
    values[TS >= T0 - 4 * 60] = np.inf
    values[TS == T0 - 10 * 60] = np.nan  # a gap: no sample
    ev = deviation(Signal("c1", "p99", SignalKind.LATENCY, TS, values), WINDOW)
    assert ev is not None and ev.z == FLAT_BASELINE_Z and ev.baseline == 0.5


def test_minus_inf_is_the_largest_fall() -> None:
    values = 5 + np.random.default_rng(4).normal(0, 0.1, TS.size)
    values[TS >= T0 - 4 * 60] = -np.inf
    traffic = deviation(Signal("c1", "rps", SignalKind.TRAFFIC, TS, values), WINDOW)
    assert traffic is not None and traffic.z == INFINITE_Z and traffic.peak == -np.inf
    assert traffic.first_deviation_s == WINDOW.change_s  # its first sample after the lead
    # a resource that falls is relieved: its fall counts at DOWNWARD_WEIGHT, and no onset
    relieved = deviation(Signal("c1", "cpu", SignalKind.RESOURCE, TS, values), WINDOW)
    assert relieved is not None and relieved.first_deviation_s is None
    assert relieved.z == pytest.approx(0.3 * traffic.z)


def test_a_baseline_with_plus_inf_gives_a_finite_median_and_spread() -> None:
    values = _p99()
    values[(TS >= T0 - 20 * 60) & (TS < T0 - 18 * 60)] = np.inf  # an earlier burst
    values[TS >= T0 - 4 * 60] += 1.0  # the change: 1 s slower
    ev = deviation(Signal("c1", "p99", SignalKind.LATENCY, TS, values), WINDOW)
    assert ev is not None and np.isfinite(ev.z) and np.isfinite(ev.baseline)
    assert ev.baseline == pytest.approx(0.2, abs=0.01) and ev.z > ONSET_Z
    # a baseline that is nothing but +Inf and stays there: no move measured
    every = np.full(TS.size, np.inf)
    gone = deviation(Signal("c1", "p99", SignalKind.LATENCY, TS, every), WINDOW)
    assert gone is None or (np.isfinite(gone.z) and gone.z == 0.0)


def test_rca_ranks_an_apiserver_p99_that_went_to_plus_inf() -> None:
    """Through the service: the store keeps +Inf, RCA dropped it (no deviation)."""
    at = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    at_ms = int(at.timestamp() * 1000)
    ts = np.arange(at_ms - 40 * 60_000, at_ms + 1, 15_000)
    p99 = 0.2 + np.random.default_rng(2).normal(0, 0.01, ts.size)
    p99[ts >= at_ms - 4 * 60_000] = np.inf
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "c.db", batch_max_delay_s=0)
        try:
            store = SeriesStore(db)
            store.append([SeriesBatch("c1", "apiserver_p99", {}, ts, p99)]).result()
            store.flush().result()
            panels = [SimpleNamespace(id="apiserver_p99", rca_kind="latency", counted=False)]
            service = RcaService(store, panels)  # type: ignore[arg-type]
            result = asyncio.run(service.for_cluster("c1", ["c1"], at))
        finally:
            db.close()
    (ev,) = result.causes[0].evidence
    assert ev.signal == "apiserver_p99" and ev.z > ONSET_Z and ev.peak == np.inf


# -- the runbook's clock classes ---------------------------------------------------------------


def test_every_clock_class_the_app_knows_has_a_runbook_entry() -> None:
    base = resources_dir()
    doc = json.loads((base / "rca" / "runbook.json").read_text())
    assert sorted(set(map(str, CLASS_MEANING)) - set(doc["ptp_clock_class"])) == []
    runbook = Runbook(doc, json.loads((base / "gpu" / "xid.json").read_text())["xids"])
    for cls in CLASS_MEANING:
        notes = _class_notes(cls)
        text = notes[0] if notes else f"clock class {cls}"
        assert [e.key for e in runbook.for_text(text, "PTP")] == [f"clock class {cls}"], text
    entry = runbook.lookup("ptp_clock_class", 187)
    assert entry is not None and entry.meaning and entry.check and entry.safe_action


def test_a_latency_at_plus_inf_all_along_is_no_move() -> None:
    """A p99 past its largest bucket for most of its baseline and still there is no change:
    it ranked as the largest move (z 10,000) from its three finite samples."""
    from analysis.rca.model import Signal, SignalKind, Window
    from analysis.rca.score import deviation

    ts = np.arange(0.0, 2400.0, 60.0)
    values = np.full(ts.size, np.inf)
    values[[2, 9, 15]] = [0.2, 0.21, 0.19]  # a few finite samples in the baseline
    window = Window(detect_s=2100.0, lead_s=120.0)
    ev = deviation(Signal("api", "apiserver_p99", SignalKind.LATENCY, ts, values), window)
    assert ev is not None and ev.z == 0.0


def test_an_infinite_peak_is_written_as_text_in_json() -> None:
    from aiops_desktop.services.intelligence.rca import _number

    assert _number(float("inf")) == "+Inf" and _number(float("-inf")) == "-Inf"
    assert _number(2.5) == 2.5
