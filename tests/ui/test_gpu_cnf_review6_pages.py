"""The GPU, PTP and SR-IOV pages, sixth review: a PTP port whose node's daemon stops
reporting stays on the board, NOT REPORTED, as the fleet keeps it; server text on a page's
error line is one bounded printable line; a MIG change is no GPU gone; a removed cluster's
GPUs are forgotten whatever it was read through; a port's restarts, max offset, path delay and
frequency adjustment are shown; and SR-IOV rows kept from an old read say so and count in
nothing measured now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models import Cluster
from aiops_desktop.models.cnf import DpdkPortRow, SriovObjects, VfRow
from aiops_desktop.models.gpu import GpuFleet, GpuReading
from aiops_desktop.models.metrics import ClusterOutcome, PromSeries, TaggedSeries
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, PtpBoard
from aiops_desktop.services.fleet.findings import GONE_FOR, PortsGone
from aiops_desktop.services.gpu_cnf.gpu import xid_table
from aiops_desktop.services.gpu_cnf.ptp import board_rows
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from analysis.gpu_health import assess
from tests.ui.conftest import run_coro
from ui.presenters.gpu_cnf import GpuPresenter, PtpPresenter, SriovPresenter, StaleCnfWorkload
from ui.theme import Theme
from ui.views.fleet_hw_views import GpuFleetView, PtpBoardView, gpu_title
from ui.views.rows_table import RAW_TIP
from ui.views.sriov_view import SriovView
from ui.views.text import CELL_CHARS

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def cluster(name: str) -> Cluster:
    return Cluster(name=name, api_server_url=f"https://{name}.example:6443")


class Readers:
    """What ``GpuCnfReaders`` answers: the clusters of the moment, one answer per read."""

    def __init__(self, *answers: Any, metrics: list[Cluster] | None = None,
                 kube: list[Cluster] | None = None) -> None:  # fmt: skip
        self.answers = list(answers)
        self.metrics = [cluster("ran")] if metrics is None else metrics
        self.kube = kube or []
        self.objects = SriovObjects()

    def with_metrics(self) -> list[Cluster]:
        return self.metrics

    def with_kube(self) -> list[Cluster]:
        return self.kube

    async def ptp_board(self, _shown: Any) -> tuple[PtpBoard, list[str]]:
        return self.answers.pop(0), []

    async def dataplane(self) -> Any:
        return self.answers.pop(0)

    async def sriov_objects(self) -> SriovObjects:
        return self.objects


def listen(signal: Any) -> list[Any]:
    said: list[Any] = []
    signal.connect(said.append)
    return said


def texts(table: Any, row: int) -> list[str]:
    model = table.model()
    return [str(model.index(row, c).data()) for c in range(model.columnCount())]


# -- defect 1: a FREERUN port whose daemon stopped reporting ------------------------------------
FREERUN_PORT = {"node": "du-1", "iface": "ens1fx", "process": "ptp4l"}
LOCKED_PORT = {"node": "du-2", "iface": "ens1fx", "process": "ptp4l"}


def series(labels: dict[str, str], value: float) -> TaggedSeries:
    return TaggedSeries("ran", PromSeries(labels, np.array([1.7e9]), np.array([value])))


def ptp_board(*ports: tuple[dict[str, str], float, float]) -> PtpBoard:
    """A board of ports, each (labels, clock state, offset)."""
    answers = {"clock_state": [series(p, state) for p, state, _ in ports],
               "offset": [series(p, offset) for p, _, offset in ports]}  # fmt: skip
    return PtpBoard(board_rows(answers), timedelta(hours=1), DEFAULT_THRESHOLD, [])


def test_a_freerun_port_whose_daemon_went_stays_not_reported(qtbot, qloop, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    both = ptp_board((FREERUN_PORT, 0, 5e6), (LOCKED_PORT, 1, 3))
    crashed = ptp_board((LOCKED_PORT, 1, 3))  # du-1's linuxptp-daemon pod crashed
    readers = Readers(both, crashed, both)
    presenter = PtpPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    view = PtpBoardView(theme)
    qtbot.addWidget(view)
    presenter.sig_board.connect(view.show_board)
    boards = listen(presenter.sig_board)
    try:
        run_coro(qtbot, presenter.read())
        assert "1 need attention" in view.title.text()
        run_coro(qtbot, presenter.read())
        gone = next(r for r in boards[-1].rows if r.node == "du-1")
        assert gone.state.value == "FREERUN" and gone.needs_attention  # its last state
        assert "1 need attention" in view.title.text() and "1 not reported" in view.title.text()
        row = texts(view.table, 0)
        assert row[:3] == ["NOT REPORTED", "ran", "du-1"]
        notes = row[PtpBoardView.HEADERS.index("Notes")]
        assert notes.startswith("no longer reported since ") and "(last FREERUN)" in notes
        run_coro(qtbot, presenter.read())  # the daemon is back
        assert [r.node for r in boards[-1].rows] == ["du-1", "du-2"]
        assert view.table.model().index(0, 0).data() == "FREERUN"
        assert "not reported" not in view.title.text()
    finally:
        presenter.close()


def test_ptp_ports_gone_are_named_as_the_fleet_names_them(qtbot) -> None:  # type: ignore[no-untyped-def]
    readers = Readers(metrics=[cluster("ran")])
    presenter = PtpPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    fleet = PortsGone()

    def read(board: PtpBoard, now: datetime) -> tuple[list[str], list[str]]:
        shown, _ = presenter.merged(board, [], now)
        shown = presenter.with_gone(shown, now)
        page = [r.node for r in shown.rows if r.needs_attention and r.node == "du-1"]
        said = fleet.findings(board, [], {c.name for c in readers.metrics}, now)
        return page, [f.subject for fs in said.values() for f in fs
                      if f.reason.startswith("no longer reported")]  # fmt: skip

    try:
        assert read(ptp_board((FREERUN_PORT, 0, 5e6)), T0) == (["du-1"], [])
        crashed = ptp_board((LOCKED_PORT, 1, 3))
        page, fleet_said = read(crashed, T0 + MINUTE)
        assert page == ["du-1"] and len(fleet_said) == 1  # both still say it
        later = T0 + MINUTE + GONE_FOR
        page, fleet_said = read(crashed, later)
        assert page == [] and fleet_said == []  # and neither for ever
        assert read(ptp_board((FREERUN_PORT, 0, 5e6)), later)[0] == ["du-1"]
        readers.metrics = []  # the cluster removed from the app: its ports are no longer its
        shown = presenter.with_gone(PtpBoard([], timedelta(hours=1), DEFAULT_THRESHOLD, []),
                                    later + MINUTE)  # fmt: skip
        assert shown.rows == []
    finally:
        presenter.close()


# -- defect 2: server text on the error line ------------------------------------------------------
EVIL = "infoROM is corrupted\n\u202eKO era sUPG lla\nnode drained OK\x1b[2J" + "x" * 200 + "TAIL"


def assert_one_bounded_line(label: Any) -> None:
    text = label.text()
    assert text.isprintable(), ascii(text[:200])
    assert len(text) <= CELL_CHARS, len(text)


@pytest.mark.parametrize("page", ["gpu", "ptp", "sriov"])
def test_the_error_line_is_one_bounded_printable_line(qtbot, theme: Theme, page: str) -> None:  # type: ignore[no-untyped-def]
    view = {"gpu": GpuFleetView, "ptp": PtpBoardView, "sriov": SriovView}[page](theme)
    qtbot.addWidget(view)
    parts = [f"edge-k: nvidia-smi in gpu-operator/drv{i} exited 14: {EVIL}" for i in range(200)]
    view.show_error("; ".join(parts))
    assert_one_bounded_line(view.error)
    assert view.error.text().startswith("edge-k: nvidia-smi in gpu-operator/drv0 exited 14: ")
    shown_tip = view.error.toolTip()
    assert "infoROM is corrupted" in shown_tip and "\u202e" not in shown_tip
    assert "\x1b" not in shown_tip
    view.show_error("")
    assert view.error.text() == "" and view.error.toolTip() == ""


# -- defects 3 and 6: GPUs said gone that are not --------------------------------------------------
def health(**values: Any) -> Any:
    reading = GpuReading("ai-a", "n1", "0", "GPU-aaaa", "NVIDIA A100", temperature_c=50, **values)
    return assess(reading, xid_table())


def gone_after(presenter: GpuPresenter, fleet: GpuFleet, now: datetime) -> list[str]:
    shown, _ = presenter.merged(fleet, now)
    return [c.key for c in presenter.with_gone(shown, now).gone]


def test_a_mig_change_is_no_gpu_gone(qtbot) -> None:  # type: ignore[no-untyped-def]
    readers = Readers(metrics=[cluster("ai-a")])
    presenter = GpuPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    whole = GpuFleet([health()], [])
    split = GpuFleet([health(mig_id="1", mig_profile="3g.40gb"),
                      health(mig_id="2", mig_profile="3g.40gb")], [])  # fmt: skip
    resplit = GpuFleet([health(mig_id="7", mig_profile="7g.80gb")], [])
    try:
        assert gone_after(presenter, whole, T0) == []
        assert gone_after(presenter, split, T0 + MINUTE) == []  # MIG turned on
        assert gone_after(presenter, resplit, T0 + 2 * MINUTE) == []  # new instance ids
        assert gone_after(presenter, GpuFleet([], []), T0 + 3 * MINUTE) == ["ai-a/n1/gpu0/mig7"]
    finally:
        presenter.close()


def test_the_gpus_of_a_removed_kubernetes_only_cluster_are_forgotten(qtbot) -> None:  # type: ignore[no-untyped-def]
    readers = Readers(metrics=[], kube=[cluster("edge-k")])
    presenter = GpuPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    reading = GpuReading("edge-k", "n1", "0", "GPU-1", "H100", temperature_c=50)
    try:
        assert gone_after(presenter, GpuFleet([assess(reading, xid_table())], []), T0) == []
        # still registered and not reported: gone
        assert gone_after(presenter, GpuFleet([], []), T0 + MINUTE) == ["edge-k/n1/gpu0"]
        readers.kube = []  # the user removes edge-k from the app
        shown, _ = presenter.merged(GpuFleet([], []), T0 + 2 * MINUTE)
        shown = presenter.with_gone(shown, T0 + 2 * MINUTE)
        assert shown.gone == [] and gpu_title(shown) == "GPU fleet · no GPU reported"
    finally:
        presenter.close()


# -- defect 4: restarts, max offset, path delay, frequency adjustment -----------------------------
def test_a_ports_restarts_and_servo_values_are_shown(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    def one(value: float, **labels: str) -> TaggedSeries:
        return TaggedSeries("ran", PromSeries(labels, np.array([1.7e9]), np.array([value])))

    port = dict(node="du-1", iface="ens1fx", process="ptp4l")
    config = dict(node="du-1", process="ptp4l", config="ptp4l.0.config")
    rows = board_rows({"clock_state": [one(1, **port)], "offset": [one(12, **port)],
                       "max_offset": [one(9000, **port)], "delay": [one(480, **port)],
                       "freq_adj": [one(-22000, **port)], "restarts": [one(41, **config)],
                       "process_status": [one(1, **config)]})  # fmt: skip
    view = PtpBoardView(theme)
    qtbot.addWidget(view)
    view.show_board(PtpBoard(rows, timedelta(hours=1), DEFAULT_THRESHOLD, []))
    headers = PtpBoardView.HEADERS
    assert texts(view.table, 0)[headers.index("Restarts")] == "40"  # the first start not counted
    offset = view.table.model().index(0, headers.index("Offset ns")).data(RAW_TIP)
    assert "max offset 9000 ns" in offset and "path delay 480 ns" in offset
    assert "frequency adjustment -22000 ppb" in offset
    assert "judged against +/-100 ns" in offset
    # not known: said so, never 0
    view.show_board(PtpBoard(board_rows({"clock_state": [one(1, **port)]}), timedelta(hours=1),
                             DEFAULT_THRESHOLD, []))  # fmt: skip
    assert texts(view.table, 0)[headers.index("Restarts")] == "-"
    offset = view.table.model().index(0, headers.index("Offset ns")).data(RAW_TIP)
    assert "max offset -\n" in offset


# -- defect 5: SR-IOV rows kept from an old read ------------------------------------------------
def test_kept_sriov_rows_say_so_and_count_in_nothing_measured(qtbot, qloop, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    vf = VfRow("ran", "du-1", "ens1f0", "3", "0000:3b:02.3", pod="du-ns/du-0", rx_bps=9.1e9,
               tx_bps=8e9, rx_drops_ps=12000.0)  # fmt: skip
    port = DpdkPortRow("ran", "du-1", "0", pod="du-ns/du-0", rx_bps=1e9, rx_missed_ps=50.0)
    down = [ClusterOutcome("ran", False, 30000.0, reason="timed_out", error="timed out")]
    readers = Readers(([vf], [port], []), ([], [], down))
    presenter = SriovPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    view = SriovView(theme)
    qtbot.addWidget(view)
    presenter.sig_vfs.connect(view.show_vfs)
    presenter.sig_ports.connect(view.show_ports)
    workloads = listen(presenter.sig_workloads)
    try:
        run_coro(qtbot, presenter.read())
        assert "1 VF and 1 DPDK port dropping" in view.title.text()
        assert workloads[-1][0].rx_bps == 9.1e9 + 1e9
        run_coro(qtbot, presenter.read())  # the cluster cannot be read
    finally:
        presenter.close()
    for table in (view.vfs, view.ports):
        notes = texts(table, 0)[-1]
        assert notes.startswith("STALE: rates as read at "), notes
    assert "0 VFs and 0 DPDK ports dropping" in view.title.text()
    (workload,) = workloads[-1]
    # no rate measured now: the sums are of nothing, and the workload says so (its rates not
    # known: the view shows "-", never a measured 0)
    assert (workload.rx_bps, workload.tx_bps, workload.trouble_ps) == (0.0, 0.0, 0.0)
    assert isinstance(workload, StaleCnfWorkload) and workload.unmeasured
