"""The GPU, PTP, SR-IOV and alerts pages against odd answers and missing data: a crafted GPU
label cannot freeze the window, what is not known is not drawn as healthy, a GPU that stops
being reported is named, and "Nothing firing" is said only when every Alertmanager was read."""

from __future__ import annotations

import time
import types
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.cnf import NodeSync
from aiops_desktop.models.gpu import GpuFleet, GpuReading
from aiops_desktop.models.metrics import PromSeries, TaggedSeries
from aiops_desktop.models.polling import Source, SourceStatus
from aiops_desktop.models.ptp import PtpBoard
from aiops_desktop.services.gpu_cnf.gpu import xid_table
from aiops_desktop.services.gpu_cnf.ptp import _attach_compliance, board_rows
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from analysis.gpu_health import assess
from tests.ui.conftest import run_coro
from ui.presenters.gpu_cnf import GpuPresenter
from ui.presenters.polling import AlertsPresenter
from ui.theme import Theme
from ui.views.fleet_hw_views import GpuFleetView, PtpBoardView
from ui.views.sriov_view import SriovView
from ui.views.tables import AlertsView


def gpu(node: str, index: str, **values: Any) -> GpuReading:
    return GpuReading("c1", node, index, f"GPU-{node}-{index}", model="H100", **values)


def fleet_of(readings: list[GpuReading]) -> GpuFleet:
    return GpuFleet([assess(r, xid_table()) for r in readings], [])


def texts(table: Any, column: int) -> list[str]:
    return [table.item(r, column).text() for r in range(table.rowCount())]


# -- defect 2: a crafted gpu label sizes the heatmap --------------------------------------------
def test_a_crafted_gpu_index_goes_to_one_other_column(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = GpuFleetView(theme)
    qtbot.addWidget(view)
    cool = {"temperature_c": 40.0}
    readings = [gpu("node-a", "0", **cool), gpu("node-a", "1", **cool),
                gpu("evil", "200000", **cool), gpu("evil", "-1", temperature_c=90),
                gpu("evil", "GPU-0", **cool), gpu("evil", "1e9", **cool)]  # fmt: skip
    started = time.perf_counter()
    view.show_fleet(fleet_of(readings))
    assert time.perf_counter() - started < 2.0
    model = view.heatmap.model()
    headers = [model.headerData(c, Qt.Orientation.Horizontal)
               for c in range(model.columnCount())]  # fmt: skip
    assert headers == ["GPU 0", "GPU 1", "Other"]
    rows = [view.heatmap.verticalHeaderItem(r).text() for r in range(view.heatmap.rowCount())]
    evil = rows.index("c1 / evil")
    assert view.heatmap.item(evil, 2).text() == "CRITICAL (+3)"  # the worst speaks, 4 in all
    assert "c1/evil/gpu-1" in view.heatmap.item(evil, 2).toolTip()  # every one named
    assert view.heatmap.item(evil, 0).text() == ""  # a negative index is not GPU 0


# -- defect 4: unknown and vanished GPUs, SR-IOV nodes not synced -----------------------------
def test_a_gpu_with_nothing_reported_is_unknown_not_ok(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = GpuFleetView(theme)
    qtbot.addWidget(view)
    view.show_fleet(fleet_of([gpu("node-a", "0", mem_used_mib=10, mem_free_mib=70000)]))
    assert view.title.text() == "GPU fleet · 1 GPU on 1 node · 1 unknown"
    assert view.heatmap.item(0, 0).text() == "UNKNOWN"
    colour = QColor(view.heatmap.rows_model.index(0, 0).data(
        Qt.ItemDataRole.BackgroundRole)).name()  # fmt: skip
    assert colour == QColor(theme.status("UNKNOWN")).name()
    assert texts(view.problems, 0) == ["UNKNOWN"]
    view.show_fleet(fleet_of([]))
    assert view.title.text() == "GPU fleet · no GPU reported"


class Readers:
    """The GPU page's readers, answering one fleet after another."""

    def __init__(self, *fleets: GpuFleet) -> None:
        self.fleets = list(fleets)

    def with_metrics(self) -> list[object]:
        return [types.SimpleNamespace(name="c1")]  # the cluster its GPUs are of

    def with_kube(self) -> list[object]:
        return []

    async def gpu_fleet(self) -> GpuFleet:
        return self.fleets.pop(0)


def test_a_gpu_no_longer_reported_is_named_until_it_returns(qtbot, qloop, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    eight = [gpu("node-a", str(i), temperature_c=40) for i in range(8)]
    readers = Readers(fleet_of(eight), fleet_of(eight[:7]), fleet_of([]), fleet_of(eight))
    presenter = GpuPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    view = GpuFleetView(theme)
    qtbot.addWidget(view)
    presenter.sig_fleet.connect(view.show_fleet)
    try:
        run_coro(qtbot, presenter.read())
        assert view.title.text() == "GPU fleet · 8 GPUs on 1 node · all OK"
        run_coro(qtbot, presenter.read())  # GPU 7 fell off the bus
        assert view.title.text() == "GPU fleet · 7 GPUs on 1 node · 1 GPU no longer reported"
        assert texts(view.problems, 0) == ["NOT REPORTED"]
        assert texts(view.problems, 1) == ["c1/node-a/gpu7"]
        run_coro(qtbot, presenter.read())  # the node's exporter gone
        assert view.title.text() == "GPU fleet · no GPU reported · 8 GPUs no longer reported"
        run_coro(qtbot, presenter.read())  # back
        assert view.title.text() == "GPU fleet · 8 GPUs on 1 node · all OK"
        assert view.problems.rowCount() == 0
    finally:
        presenter.close()


def test_sriov_nodes_in_progress_or_unknown_are_not_synced(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = SriovView(theme)
    qtbot.addWidget(view)
    nodes = [NodeSync("worker-1", "InProgress", ""), NodeSync("worker-2", "Unknown", ""),
             NodeSync("worker-0", "Succeeded", "")]  # fmt: skip
    view.show_nodes([("ran-1", n) for n in nodes])
    view.show_vfs([])
    view.show_ports([])
    assert view.title.text().startswith(
        "SR-IOV · 2 of 3 nodes not synced (1 in progress, 1 unknown) ·"
    )
    view.show_nodes([("ran-1", NodeSync("worker-0", "Succeeded", ""))])
    assert view.title.text().startswith("SR-IOV · 1 node, all synced ·")


# -- defect 3: the alerts page and the Alertmanagers it could not read ------------------------
class AlertClusters:
    """Two clusters with an Alertmanager, and a hub member whose alerts come through one."""

    def clusters(self) -> list[Any]:
        def cluster(name: str) -> Any:
            return types.SimpleNamespace(name=name, endpoint=lambda kind: "http://am")

        return [cluster("core-1"), cluster("ran-east")]

    def hub_of(self, name: str) -> Any:
        return types.SimpleNamespace(name="ran-east") if name == "edge-7" else None


def test_unread_alertmanagers_are_said_and_old_alerts_badged(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    poller = types.SimpleNamespace(
        alerts={"core-1": [Alert(fingerprint="f", cluster="core-1", name="NodeOutOfPtpSync",
                                 starts_at=now - timedelta(hours=3))]},
        status={("ran-east", Source.ALERTS): SourceStatus(
                    "ran-east", Source.ALERTS, 10, last_attempt=now, consecutive_errors=720,
                    last_error="connection refused"),
                ("core-1", Source.ALERTS): SourceStatus(
                    "core-1", Source.ALERTS, 10, last_attempt=now,
                    last_success=now - timedelta(hours=2), consecutive_errors=700,
                    last_error="503")},
    )  # fmt: skip
    presenter = AlertsPresenter(poller=poller, tasks=TaskSupervisor())  # type: ignore[arg-type]
    presenter.clusters = AlertClusters()
    view = AlertsView(theme)
    qtbot.addWidget(view)
    presenter.sig_reads.connect(view.show_reads)
    presenter.sig_groups.connect(view.show_groups)
    try:
        presenter.refresh()
        assert view.title.text() == "Alerts · 1 firing in 1 group · 2 of 2 Alertmanagers not read"
        read = AlertsView.HEADERS.index("Read")
        assert view.table.item(0, read).text() == "STALE · 2.0 h ago"
        assert "may have ended" in view.table.item(0, read).toolTip()
        assert "ran-east: connection refused (never read)" in view.unread.text()
        poller.alerts = {}
        presenter.refresh()
        assert view.table.empty_message().startswith("Not known: 2 of 2 Alertmanagers not read")
        for status in poller.status.values():  # both answer again
            status.last_success, status.consecutive_errors = datetime.now(UTC), 0
        poller.alerts = {"edge-7": [Alert(fingerprint="g", cluster="edge-7", name="PtpDown",
                                          starts_at=now)]}  # fmt: skip
        presenter.refresh()
        assert view.title.text() == "Alerts · 1 firing in 1 group"
        assert view.table.item(0, read).text().endswith("s ago")  # through its hub, fresh
        assert view.unread.text() == ""
        poller.alerts = {}
        presenter.refresh()
        assert view.table.empty_message().startswith("Nothing firing")
    finally:
        presenter.close()


def test_without_an_alertmanager_nothing_is_claimed(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = AlertsView(theme)
    qtbot.addWidget(view)
    view.show_groups([])
    assert not view.table.empty_message().startswith("Nothing firing")
    poller = types.SimpleNamespace(alerts={}, status={})
    presenter = AlertsPresenter(poller=poller, tasks=TaskSupervisor())  # type: ignore[arg-type]
    presenter.sig_reads.connect(view.show_reads)
    presenter.sig_groups.connect(view.show_groups)
    try:
        presenter.refresh()
        assert view.table.empty_message().startswith("No Alertmanager configured")
    finally:
        presenter.close()


# -- defects 5 and 9: the PTP board's ranking and compliance words -----------------------------
def tagged(labels: dict[str, str], *values: float, t0: float = 1000.0) -> TaggedSeries:
    v = np.array(values, dtype=float)
    return TaggedSeries("c", PromSeries(labels, t0 + 15.0 * np.arange(v.size), v))


def test_the_board_colours_and_counts_what_needs_attention(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    def port(node: str) -> dict[str, str]:
        return {"node": node, "iface": "ens1f0", "process": "ptp4l"}

    nodes = ("ok", "c248", "down", "nooffset")
    answers = {
        "clock_state": [tagged(port(n), 1) for n in nodes],
        "offset": [tagged(port(n), 3) for n in nodes if n != "nooffset"],
        "clock_class": [tagged(port("c248"), 248), tagged(port("ok"), 6)],
        "process_status": [tagged({"node": "down", "process": "ptp4l"}, 0)],
    }
    rows = board_rows(answers)
    states = tagged(port("ok"), 1, 2, 1, 1, t0=1500.0)  # a HOLDOVER sample, the rest unread
    _attach_compliance(rows, [states], [], 15.0, end_s=1500.0 + 15 * 239, window_s=3600.0)
    view = PtpBoardView(theme)
    qtbot.addWidget(view)
    view.show_board(PtpBoard(rows, timedelta(hours=1), rows[0].threshold, []))
    assert view.title.text().startswith("PTP · 4 ports · 2 need attention · 1 unknown ·")
    shown = {view.table.item(r, 2).text(): r for r in range(view.table.rowCount())}
    colour = view.table.rows_model.index(shown["c248"], 0).data(
        Qt.ItemDataRole.ForegroundRole)  # fmt: skip
    assert QColor(colour).name() == QColor(theme.severity("warning")).name()
    grey = view.table.rows_model.index(shown["nooffset"], 0).data(
        Qt.ItemDataRole.ForegroundRole)  # fmt: skip
    assert QColor(grey).name() == QColor(theme.status("UNKNOWN")).name()
    ok = shown["ok"]
    locked, long = (
        PtpBoardView.HEADERS.index("Locked"),
        PtpBoardView.HEADERS.index("Long holdovers"),
    )
    assert view.table.item(ok, locked).text() == "1.2% · 98.3% unknown"
    assert view.table.item(ok, long).text() == "0 (+1 unsure at 15 s)"
