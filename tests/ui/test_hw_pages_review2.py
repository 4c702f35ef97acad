"""The GPU, PTP and SR-IOV pages, second review: a field's query failing does not turn a
CRITICAL GPU (or a port needing attention) into a fresh OK; a Failed SR-IOV node stays shown,
stale, while its cluster cannot be read, and "all synced" is never said then; the SR-IOV
page's merge and joins are done off the UI thread; a GPU no longer reported is not named for
ever; and operator text in the SR-IOV tables is one bounded printable line."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from aiops_desktop.models import Cluster
from aiops_desktop.models.cnf import DpdkPortRow, NodeSync, SriovObjects, VfRow
from aiops_desktop.models.gpu import GpuFleet, GpuReading, GpuState
from aiops_desktop.models.metrics import ClusterOutcome, PromSeries, TaggedSeries
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, PtpBoard
from aiops_desktop.services.fleet.findings import GONE_FOR
from aiops_desktop.services.gpu_cnf.gpu import xid_table
from aiops_desktop.services.gpu_cnf.ptp import board_rows
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from analysis.gpu_health import assess
from tests.ui.conftest import run_coro
from ui.presenters import gpu_cnf
from ui.presenters.gpu_cnf import GpuPresenter, PtpPresenter, SriovPresenter
from ui.theme import Theme
from ui.views.sriov_view import SriovView

T0 = datetime(2026, 11, 27, 6, 0, 0, tzinfo=UTC)


def cluster(name: str) -> Cluster:
    return Cluster(name=name, api_server_url=f"https://{name}.example:6443")


def failed(name: str, error: str) -> ClusterOutcome:
    return ClusterOutcome(name, False, 30000.0, reason="timed_out", error=error)


class Readers:
    """What ``GpuCnfReaders`` answers: the clusters of the moment, one answer per read."""

    def __init__(self, *names: str, objects: list[SriovObjects] | None = None,
                 dataplane: list[Any] | None = None) -> None:  # fmt: skip
        self.registered = [cluster(n) for n in names]
        self.objects = objects or []
        self.planes = dataplane or []

    def with_metrics(self) -> list[Cluster]:
        return self.registered if self.planes or not self.objects else []

    def with_kube(self) -> list[Cluster]:
        return self.registered

    async def dataplane(self) -> Any:
        return self.planes.pop(0)

    async def sriov_objects(self) -> SriovObjects:
        return self.objects.pop(0)


def listen(signal: Any) -> list[Any]:
    said: list[Any] = []
    signal.connect(said.append)
    return said


def texts(table: Any, column: int) -> list[str]:
    return [table.item(r, column).text() for r in range(table.rowCount())]


# -- defect 1: one field's query failing ------------------------------------------------------
def gpu(cluster: str, node: str, index: int, **values: Any) -> Any:
    fields = {"util_pct": 97.0, "dbe_errors": 0, "xid": 0, **values}
    reading = GpuReading(cluster, node, str(index), f"GPU-{cluster}-{node}-{index}", **fields)
    return assess(reading, xid_table())


def test_a_critical_gpu_whose_temperature_query_fails_stays_critical_and_stale(qtbot) -> None:  # type: ignore[no-untyped-def]
    presenter = GpuPresenter(readers=Readers("prod-a"), tasks=TaskSupervisor())  # type: ignore[arg-type]
    try:
        first, _ = presenter.merged(GpuFleet([gpu("prod-a", "n1", 0, temperature_c=85.0)], []), T0)
        assert first.gpus[0].state is GpuState.CRITICAL
        # the temperature query alone times out: the GPU comes back without it, judged OK
        partial = GpuFleet([gpu("prod-a", "n1", 0)],
                           [failed("prod-a", "query timed out: DCGM_FI_DEV_GPU_TEMP")])  # fmt: skip
        assert partial.gpus[0].state is GpuState.OK
        later = T0 + timedelta(minutes=1)
        shown, badge = presenter.merged(partial, later)
        (h,) = shown.gpus
        assert h.state is GpuState.CRITICAL and h.reading.temperature_c == 85.0
        assert h.reasons[0].startswith("STALE: CRITICAL as read at ")
        assert badge.startswith("STALE: showing data from ") and " for prod-a" in badge
        # news as bad read in part is shown as read
        xid = GpuFleet([gpu("prod-a", "n1", 0, xid=79)], [failed("prod-a", "timed out")])
        shown, _ = presenter.merged(xid, later)
        assert "XID 79" in shown.gpus[0].reasons[0]
        # read whole again: this read's
        shown, badge = presenter.merged(GpuFleet([gpu("prod-a", "n1", 0, temperature_c=50)], []))
        assert shown.gpus[0].state is GpuState.OK and badge == ""
    finally:
        presenter.close()


def ts(cluster: str, labels: dict[str, str], value: float) -> TaggedSeries:
    import numpy as np

    return TaggedSeries(cluster, PromSeries(labels, np.array([1.7e9]), np.array([value])))


def test_a_port_whose_clock_class_query_fails_still_needs_attention(qtbot) -> None:  # type: ignore[no-untyped-def]
    port = {"node": "du-1", "iface": "ens1fx", "process": "ptp4l"}
    full = {"clock_state": [ts("prod-a", port, 1)], "offset": [ts("prod-a", port, 12)],
            "clock_class": [ts("prod-a", {"node": "du-1", "process": "ptp4l"}, 248)]}  # fmt: skip
    part = {k: v for k, v in full.items() if k != "clock_class"}
    window = timedelta(hours=1)
    presenter = PtpPresenter(readers=Readers("prod-a"), tasks=TaskSupervisor())  # type: ignore[arg-type]
    try:
        first, _ = presenter.merged(PtpBoard(board_rows(full), window, DEFAULT_THRESHOLD, []), [])
        assert first.rows[0].needs_attention
        outcomes = [failed("prod-a", "clock_class query timed out")]
        then, badge = presenter.merged(
            PtpBoard(board_rows(part), window, DEFAULT_THRESHOLD, outcomes), []
        )
        (row,) = then.rows
        assert row.needs_attention and row.clock_class == 248
        assert row.notes[0].startswith("STALE: LOCKED as read at ")
        assert badge.startswith("STALE: ")
    finally:
        presenter.close()


# -- defect 2: a Failed SR-IOV node while its cluster cannot be read ----------------------------
def nodes_read(*clusters: str, problems: list[str] | None = None) -> SriovObjects:
    rows = {"ran-a": NodeSync("du-a1", "Succeeded", ""),
            "ran-b": NodeSync("du-b1", "Failed", "failed to configure VFs"),
            "ran-c": NodeSync("du-c1", "Succeeded", "")}  # fmt: skip
    unread = dict(p.split(": ", 1) for p in problems or [])  # as read_sriov_objects says them
    return SriovObjects(nodes=[(c, rows[c]) for c in clusters], problems=problems or [],
                        unread=unread)  # fmt: skip


def test_a_failed_sriov_node_stays_shown_stale_while_its_cluster_cannot_be_read(  # type: ignore[no-untyped-def]
    qtbot, qloop, theme: Theme
) -> None:
    down_b = ["ran-b: api.b did not answer within 10 s"]
    readers = Readers("ran-a", "ran-b", "ran-c", objects=[
        nodes_read("ran-a", "ran-b"),  # ran-c's operator came later
        nodes_read("ran-a", problems=down_b),
        nodes_read("ran-a", "ran-b", "ran-c"),
        nodes_read("ran-b", "ran-c", problems=["ran-a: refused"]),
    ])  # fmt: skip
    presenter = SriovPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    view = SriovView(theme)
    qtbot.addWidget(view)
    presenter.sig_nodes.connect(view.show_nodes)
    said = listen(presenter.sig_nodes)
    try:
        run_coro(qtbot, presenter.read())
        assert view.title.text().startswith("SR-IOV · 1 of 2 nodes not synced ·")
        run_coro(qtbot, presenter.read())  # ran-b's API cannot be read
        rows = {(c, r.node): r for c, r in said[-1]}
        kept = rows[("ran-b", "du-b1")]
        assert kept.status == "Failed" and kept.error.startswith("STALE: Failed as read at ")
        assert kept.error.endswith("failed to configure VFs")
        assert rows[("ran-b", "")].status == "Unknown"  # the cluster, not read: why
        assert "api.b did not answer" in rows[("ran-b", "")].error
        assert view.title.text().startswith(
            "SR-IOV · 1 node synced · 1 node of 1 cluster not read (1 failed when last read) ·"
        )
        assert "du-b1" in texts(view.nodes, 1)
        run_coro(qtbot, presenter.read())  # all read
        assert [(c, r.node, r.status) for c, r in said[-1]] == [
            ("ran-b", "du-b1", "Failed"), ("ran-a", "du-a1", "Succeeded"),
            ("ran-c", "du-c1", "Succeeded"),
        ]  # fmt: skip
        assert not said[-1][0][1].error.startswith("STALE")
        run_coro(qtbot, presenter.read())  # ran-a not read: its Succeeded as last read, stale
        rows = {(c, r.node): r for c, r in said[-1]}
        assert rows[("ran-a", "du-a1")].status == "Succeeded"
        assert rows[("ran-a", "du-a1")].error.startswith("STALE: Succeeded as read at ")
        title = view.title.text()
        assert "all synced" not in title and "1 cluster not read" in title
    finally:
        presenter.close()


def test_all_synced_is_not_said_while_a_cluster_never_read_is_unread(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = SriovView(theme)
    qtbot.addWidget(view)
    view.show_nodes([("ran-a", NodeSync("du-a1", "Succeeded", "")),
                     ("ran-b", NodeSync("", "Unknown", "not read: refused"))])  # fmt: skip
    view.show_vfs([])
    view.show_ports([])
    assert view.title.text().startswith("SR-IOV · 1 node synced · 1 cluster not read ·")
    assert texts(view.nodes, 1) == ["du-a1", "—"]


# -- defect 3: the SR-IOV page's work off the UI thread -----------------------------------------
def test_the_sriov_merge_and_cnf_join_run_off_the_ui_thread(qtbot, qloop, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    vf = VfRow("ran-a", "du-1", "ens1f0", "0", "0000:3b:02.0", pod="du/du-0")
    port = DpdkPortRow("ran-a", "du-1", "0", pod="du/du-0")
    readers = Readers("ran-a", objects=[nodes_read("ran-a")], dataplane=[([vf], [port], [])])
    presenter = SriovPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    threads: dict[str, threading.Thread] = {}

    def spy(name: str, work: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            threads[name] = threading.current_thread()
            return work(*args, **kwargs)

        return run

    monkeypatch.setattr(gpu_cnf, "cnf_workloads_by_type",
                        spy("cnf", gpu_cnf.cnf_workloads_by_type))  # fmt: skip
    for name in ("_vfs", "_ports", "_nodes"):
        store = getattr(presenter, name)
        monkeypatch.setattr(store, "offer", spy(name, store.offer))
    vfs, workloads = listen(presenter.sig_vfs), listen(presenter.sig_workloads)
    try:
        run_coro(qtbot, presenter.read())
    finally:
        presenter.close()
    assert vfs == [[vf]] and len(workloads[-1]) == 1  # the rows as before
    assert set(threads) == {"cnf", "_vfs", "_ports", "_nodes"}
    ui = threading.main_thread()
    assert threading.current_thread() is ui
    assert all(t is not ui for t in threads.values()), threads


# -- defect 4: GPUs no longer reported ---------------------------------------------------------
def cool(cluster: str, node: str, index: int) -> Any:
    return gpu(cluster, node, index, temperature_c=50.0)


def test_gpus_gone_of_a_removed_cluster_are_dropped_and_others_expire(qtbot) -> None:  # type: ignore[no-untyped-def]
    readers = Readers("train-a", "lab-old")
    presenter = GpuPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]

    def read(gpus: list[Any], now: datetime) -> list[str]:
        fleet, _ = presenter.merged(GpuFleet(gpus, []), now)
        return [c.key for c in presenter.with_gone(fleet, now).gone]

    try:
        both = [cool("train-a", "n1", 0), cool("train-a", "n2", 0), cool("lab-old", "n1", 0)]
        assert read(both, T0) == []
        hour = timedelta(hours=1)
        # train-a's n2 retired; lab-old not read this time (still registered)
        assert read(both[:1], T0 + hour) == ["lab-old/n1/gpu0", "train-a/n2/gpu0"]
        readers.registered = readers.registered[:1]  # the operator removes lab-old
        assert read(both[:1], T0 + 2 * hour) == ["train-a/n2/gpu0"]
        # read an hour after the last read (the page hidden): gone since that read, T0, as
        # the fleet (which reads all along) says it
        assert read(both[:1], T0 + GONE_FOR - timedelta(seconds=1)) == ["train-a/n2/gpu0"]
        assert read(both[:1], T0 + GONE_FOR) == []  # as long as the fleet says it
        assert read(both[:1], T0 + 3 * GONE_FOR) == []  # and not again
        # back, and gone again: named again, from then
        assert read(both[:2], T0 + 3 * GONE_FOR) == []
        assert read(both[:1], T0 + 3 * GONE_FOR + timedelta(seconds=30)) == ["train-a/n2/gpu0"]
    finally:
        presenter.close()


# -- operator text in the SR-IOV tables ----------------------------------------------------------
def test_sriov_cells_are_one_bounded_printable_line(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = SriovView(theme)
    qtbot.addWidget(view)
    error = "failed\nto set\x1b[2J numVfs \u202egnp.exe " + "x" * 100_000
    view.show_nodes([("ran-1", NodeSync("du-\u202e1\n", "Failed", error, ["ens1f0\r\n8/64"]))])
    view.show_vfs([VfRow("ran-1", "du-1", "ens1f0", "0", "pci", pod="du/\u202epod\n2")])
    cells = [view.nodes.item(0, c).text() for c in range(view.nodes.columnCount())]
    cells.append(view.vfs.item(0, 5).text())
    for cell in cells:
        assert not any(ch in cell for ch in "\n\r\x1b\u202e"), ascii(cell)
        assert len(cell) <= 1000
    assert cells[1] == "du-1 " and cells[4].startswith("failed to set")
    assert cells[4].endswith("…") and cells[-1] == "du/pod 2"
