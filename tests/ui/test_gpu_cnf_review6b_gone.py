"""The GPU, PTP and SR-IOV pages, sixth review (second pass): what a page says gone agrees
with the fleet's ``GpusGone`` and ``PortsGone`` (a GPU off the bus while its neighbours are
renumbered; a row gone while the page was hidden; a hub removed; the worst kept under the
cap; a port gone after it was kept stale is said as read); a CNF workload of a cluster not
read has no measured rate; and the board is merged off the UI thread, each row ranked once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt

from aiops_desktop.models import Cluster, ClusterKind
from aiops_desktop.models.cnf import DpdkPortRow, SriovObjects, VfRow
from aiops_desktop.models.gpu import GpuFleet, GpuReading, GpuState
from aiops_desktop.models.metrics import ClusterOutcome
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, ClockState, PtpBoard, PtpRow
from aiops_desktop.services.fleet.findings import GONE_FOR, GpusGone, PortsGone
from aiops_desktop.services.gpu_cnf.gpu import xid_table
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from analysis.gpu_health import assess
from tests.ui.conftest import run_coro
from ui.presenters import gpu_cnf
from ui.presenters.gpu_cnf import GpuPresenter, PtpPresenter, SriovPresenter, UnreportedPort
from ui.theme import Theme
from ui.views.sriov_view import SriovView

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DOWN = [ClusterOutcome("ran", False, 30000.0, reason="timed_out", error="timed out")]


def cluster(name: str, kind: ClusterKind = ClusterKind.CLUSTER) -> Cluster:
    return Cluster(name=name, kind=kind, api_server_url=f"https://{name}.example:6443")


class Readers:
    """What ``GpuCnfReaders`` answers: the clusters of the moment, one answer per read."""

    def __init__(self, *answers: Any, metrics: list[Cluster] | None = None) -> None:
        self.answers = list(answers)
        self.metrics = [cluster("ran")] if metrics is None else metrics
        self.objects = SriovObjects()

    def with_metrics(self) -> list[Cluster]:
        return self.metrics

    def with_kube(self) -> list[Cluster]:
        return []

    async def ptp_board(self, _shown: Any) -> tuple[PtpBoard, list[str]]:
        return self.answers.pop(0), []

    async def gpu_fleet(self) -> GpuFleet:
        return self.answers.pop(0)

    async def dataplane(self) -> Any:
        return self.answers.pop(0)

    async def sriov_objects(self) -> SriovObjects:
        return self.objects


def board(rows: list[PtpRow], outcomes: list[ClusterOutcome] | None = None) -> PtpBoard:
    return PtpBoard(rows, HOUR, DEFAULT_THRESHOLD, outcomes or [])


def port(cluster_name: str, node: str, state: ClockState = ClockState.LOCKED,
         iface: str = "ens1f0") -> PtpRow:  # fmt: skip
    offset = 3.0 if state is ClockState.LOCKED else 9e6
    return PtpRow(cluster_name, node, iface, "ptp4l", state, offset_ns=offset,
                  offset_in=state is ClockState.LOCKED)  # fmt: skip


def page(presenter: PtpPresenter, rows: list[PtpRow], now: datetime,
         outcomes: list[ClusterOutcome] | None = None) -> list[UnreportedPort]:  # fmt: skip
    unread = ["ran: timed out"] if outcomes else []
    shown, _ = presenter.merged(board(rows, outcomes), unread, now)
    shown = presenter.with_gone(shown, now)
    return [r for r in shown.rows if isinstance(r, UnreportedPort)]


def gpu(index: str, uuid: str, **values: Any) -> Any:
    reading = GpuReading("ai-a", "n1", index, uuid, "A100", temperature_c=50, **values)
    return assess(reading, xid_table())


def gone_after(presenter: GpuPresenter, fleet: GpuFleet, now: datetime) -> list[str]:
    shown, _ = presenter.merged(fleet, now)
    return [c.key for c in presenter.with_gone(shown, now).gone]


# -- defect 1: a GPU off the bus while its neighbours are renumbered -------------------------
def test_a_gpu_off_the_bus_is_gone_though_its_neighbour_takes_its_index(qtbot) -> None:  # type: ignore[no-untyped-def]
    presenter = GpuPresenter(readers=Readers(metrics=[cluster("ai-a")]), tasks=TaskSupervisor())  # type: ignore[arg-type]
    fleet = GpusGone()
    before = GpuFleet([gpu("0", "GPU-A"), gpu("1", "GPU-B", xid=79), gpu("2", "GPU-C")], [])
    after = GpuFleet([gpu("0", "GPU-A"), gpu("1", "GPU-C")], [])  # B off the bus, C renumbered
    try:
        assert gone_after(presenter, before, T0) == []
        fleet.findings(before, set(), {"ai-a"}, T0)
        said = fleet.findings(after, set(), {"ai-a"}, T0 + MINUTE)
        assert [f.subject for fs in said.values() for f in fs] == ["n1/gpu1"]
        assert gone_after(presenter, after, T0 + MINUTE) == ["ai-a/n1/gpu1"]
        assert gone_after(presenter, after, T0 + 2 * MINUTE) == ["ai-a/n1/gpu1"]  # and stays
        # the board replaced: a GPU the node never had in its slot speaks for it
        replaced = GpuFleet([gpu("0", "GPU-A"), gpu("1", "GPU-D"), gpu("2", "GPU-C")], [])
        assert gone_after(presenter, replaced, T0 + 3 * MINUTE) == []
    finally:
        presenter.close()


def test_a_gpu_replaced_in_its_slot_is_no_gpu_gone(qtbot) -> None:  # type: ignore[no-untyped-def]
    presenter = GpuPresenter(readers=Readers(metrics=[cluster("ai-a")]), tasks=TaskSupervisor())  # type: ignore[arg-type]
    try:
        assert gone_after(presenter, GpuFleet([gpu("0", "GPU-A"), gpu("1", "GPU-B")], []), T0) == []
        new = GpuFleet([gpu("0", "GPU-A"), gpu("1", "GPU-N")], [])
        assert gone_after(presenter, new, T0 + MINUTE) == []
    finally:
        presenter.close()


# -- defect 2: a row gone while the page was hidden --------------------------------------------
def test_a_port_gone_while_the_page_was_hidden_expires_with_the_fleets(qtbot) -> None:  # type: ignore[no-untyped-def]
    presenter = PtpPresenter(readers=Readers(), tasks=TaskSupervisor())  # type: ignore[arg-type]
    fleet = PortsGone()
    bad, ok = port("ran", "du-7", ClockState.FREERUN), port("ran", "du-1")
    try:
        assert page(presenter, [bad, ok], T0) == []  # shown at 06:00, then hidden
        fleet.findings(board([bad, ok]), set(), {"ran"}, T0)
        for hours in (1, 30):  # the fleet reads all along: du-7 went at 07:00
            said = fleet.findings(board([ok]), set(), {"ran"}, T0 + hours * HOUR)
        assert said == {}
        assert page(presenter, [ok], T0 + 30 * HOUR) == []  # opened again: expired as well
    finally:
        presenter.close()


def test_a_port_gone_between_reads_far_apart_is_said_gone_since_the_last_read(qtbot) -> None:  # type: ignore[no-untyped-def]
    presenter = PtpPresenter(readers=Readers(), tasks=TaskSupervisor())  # type: ignore[arg-type]
    bad, ok = port("ran", "du-7", ClockState.FREERUN), port("ran", "du-1")
    try:
        page(presenter, [bad, ok], T0)
        (gone,) = page(presenter, [ok], T0 + 2 * HOUR)  # hidden 2 h
        assert gone.went == T0 and "since 2026-12-07 06:00:00 UTC" in gone.notes[0]
        assert page(presenter, [ok], T0 + 2 * HOUR + 30 * MINUTE)[0].went == T0
        assert page(presenter, [ok], T0 + GONE_FOR) == []
        # read on the timer: gone at the first read without it
        page(presenter, [bad, ok], T0 + 2 * GONE_FOR)
        (gone,) = page(presenter, [ok], T0 + 2 * GONE_FOR + timedelta(seconds=30))
        assert gone.went == T0 + 2 * GONE_FOR + timedelta(seconds=30)
    finally:
        presenter.close()


# -- defect 3: the clusters a removed hub answered for --------------------------------------------
def test_gone_rows_of_a_cluster_only_a_hub_answered_for_go_with_the_hub(qtbot) -> None:  # type: ignore[no-untyped-def]
    hub, core = cluster("acm-hub", ClusterKind.FLEET), cluster("core-1")
    readers = Readers(metrics=[hub, core])
    presenter = PtpPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    fleet = PortsGone()
    freerun, locked = port("spoke-9", "du-3", ClockState.FREERUN), port("spoke-9", "du-4")

    def step(rows: list[PtpRow], now: datetime) -> tuple[list[str], list[str]]:
        said = {c.name for c in readers.metrics} | {r.cluster for r in rows}
        found = fleet.findings(board(rows), set(), said, now)
        return ([r.node for r in page(presenter, rows, now)],
                [f.subject for fs in found.values() for f in fs])  # fmt: skip

    try:
        assert step([freerun, locked], T0) == ([], [])
        assert step([locked], T0 + MINUTE) == (["du-3"], ["du-3/ens1f0 (ptp4l)"])
        readers.metrics = [core]  # the user removes the hub
        assert step([], T0 + 2 * MINUTE) == ([], [])
    finally:
        presenter.close()


# -- defect 4: the cap keeps the worst -------------------------------------------------------------
def test_the_gone_cap_keeps_the_worst_rows(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(gpu_cnf, "MAX_GONE", 3)
    readers = Readers(metrics=[cluster("aaa-ran"), cluster("zzz-ran")])
    presenter = PtpPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    locked = [port("aaa-ran", f"du-{i}") for i in range(5)]
    freerun = [port("zzz-ran", f"du-{i}", ClockState.FREERUN) for i in range(2)]
    keep = [port(c, "core-0") for c in ("aaa-ran", "zzz-ran")]
    try:
        page(presenter, locked + freerun + keep, T0)
        gone = page(presenter, keep, T0 + MINUTE)
        assert len(gone) == 3
        assert [r.state for r in gone].count(ClockState.FREERUN) == 2
    finally:
        presenter.close()


# -- defect 5: a CNF workload of a cluster not read --------------------------------------------
def workload_cells(view: SriovView) -> dict[str, str]:
    model = view.workloads.model()
    return {h: str(model.index(0, c).data()) for c, h in enumerate(SriovView.CNF_HEADERS)}


def test_a_cnf_workload_of_a_cluster_not_read_has_no_measured_rate(  # type: ignore[no-untyped-def]
    qtbot, qloop, theme: Theme
) -> None:
    vf = VfRow("ran", "du-1", "ens1f0", "3", "0000:3b:02.3", pod="du-ns/du-0", rx_bps=9.1e9,
               rx_drops_ps=12000.0)  # fmt: skip
    dpdk = DpdkPortRow("ran", "du-1", "0", pod="du-ns/du-0", rx_bps=1e9, rx_missed_ps=5.0)
    readers = Readers(([vf], [dpdk], []), ([], [], DOWN), ([], [dpdk], DOWN))
    presenter = SriovPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    view = SriovView(theme)
    qtbot.addWidget(view)
    presenter.sig_workloads.connect(view.show_workloads)
    try:
        run_coro(qtbot, presenter.read())
        assert workload_cells(view)["RX Mbit/s"] == "10100.0"
        run_coro(qtbot, presenter.read())  # the cluster cannot be read: no rate measured now
        cells = workload_cells(view)
        assert (cells["RX Mbit/s"], cells["TX Mbit/s"], cells["Drops+errors/s"]) == ("-",) * 3
        assert cells["Notes"].startswith("STALE")
        colour = view.workloads.model().index(0, 0).data(Qt.ItemDataRole.ForegroundRole)
        assert colour is not None and colour.name() == theme.status("UNKNOWN").lower()
        run_coro(qtbot, presenter.read())  # the port read again, the VF not: a partial sum
        cells = workload_cells(view)
        assert cells["RX Mbit/s"] == ">= 1000.0" and cells["Drops+errors/s"] == ">= 5.0"
        assert "1 of 2" in cells["Notes"]
    finally:
        presenter.close()


# -- defect 6: a row gone after it was kept stale -----------------------------------------------
def test_a_port_kept_stale_then_gone_is_said_as_read(qtbot) -> None:  # type: ignore[no-untyped-def]
    presenter = PtpPresenter(readers=Readers(), tasks=TaskSupervisor())  # type: ignore[arg-type]
    a, b = port("ran", "du-3"), port("ran", "du-4")
    try:
        page(presenter, [a, b], T0)
        page(presenter, [], T0 + MINUTE, DOWN)  # kept stale
        (gone,) = page(presenter, [b], T0 + 2 * MINUTE)
        assert "(last LOCKED)" in gone.notes[0]
        assert gone.state is ClockState.LOCKED and not any("STALE" in n for n in gone.notes)
    finally:
        presenter.close()


def test_a_gpu_kept_stale_then_gone_is_said_as_read(qtbot) -> None:  # type: ignore[no-untyped-def]
    readers = Readers(metrics=[cluster("ai-a")])
    presenter = GpuPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    down = [ClusterOutcome("ai-a", False, 30000.0, reason="timed_out", error="timed out")]
    try:
        gone_after(presenter, GpuFleet([gpu("0", "GPU-A"), gpu("1", "GPU-B")], []), T0)
        gone_after(presenter, GpuFleet([], down), T0 + MINUTE)  # kept stale
        shown, _ = presenter.merged(GpuFleet([gpu("0", "GPU-A")], []), T0 + 2 * MINUTE)
        (change,) = presenter.with_gone(shown, T0 + 2 * MINUTE).gone
        assert change.before is GpuState.OK
        assert not any("STALE" in r for r in change.reasons)
    finally:
        presenter.close()


# -- defect 7: the board merged off the UI thread, each row ranked once ------------------------
def test_the_board_is_merged_off_the_ui_thread_each_row_ranked_once(  # type: ignore[no-untyped-def]
    qtbot, qloop, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [port("ran", f"du-{i}") for i in range(40)]
    readers = Readers(board(rows), board(rows[:20]))
    presenter = PtpPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    threads: dict[str, threading.Thread] = {}
    ranked: list[PtpRow] = []
    order = gpu_cnf.port_order

    def counted(row: PtpRow) -> Any:
        ranked.append(row)
        return order(row)

    monkeypatch.setattr(gpu_cnf, "port_order", counted)
    for name in ("_kept", "_gone"):
        store = getattr(presenter, name)

        def spy(*args: Any, _name: str = name, _offer: Any = store.offer) -> Any:
            threads[_name] = threading.current_thread()
            return _offer(*args)

        monkeypatch.setattr(store, "offer", spy)
    boards: list[PtpBoard] = []
    presenter.sig_board.connect(boards.append)
    try:
        run_coro(qtbot, presenter.read())
        ranked.clear()
        run_coro(qtbot, presenter.read())
    finally:
        presenter.close()
    assert len(boards[-1].rows) == 40  # 20 read, 20 not reported
    assert len(ranked) <= 40, len(ranked)
    ui = threading.main_thread()
    assert set(threads) == {"_kept", "_gone"}
    assert all(t is not ui for t in threads.values()), threads


def test_the_gpu_fleet_is_merged_off_the_ui_thread(qtbot, qloop, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    fleet = GpuFleet([gpu("0", "GPU-A"), gpu("1", "GPU-B")], [])
    readers = Readers(fleet, GpuFleet(fleet.gpus[:1], []), metrics=[cluster("ai-a")])
    presenter = GpuPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    threads: dict[str, threading.Thread] = {}
    for name in ("_kept", "_gone"):
        store = getattr(presenter, name)

        def spy(*args: Any, _name: str = name, _offer: Any = store.offer) -> Any:
            threads[_name] = threading.current_thread()
            return _offer(*args)

        monkeypatch.setattr(store, "offer", spy)
    fleets: list[GpuFleet] = []
    presenter.sig_fleet.connect(fleets.append)
    try:
        run_coro(qtbot, presenter.read())
        run_coro(qtbot, presenter.read())
    finally:
        presenter.close()
    assert [c.key for c in fleets[-1].gone] == ["ai-a/n1/gpu1"]
    assert set(threads) == {"_kept", "_gone"}
    assert all(t is not threading.main_thread() for t in threads.values()), threads


def test_a_range_chosen_while_the_board_is_merged_leaves_nothing_of_the_old(  # type: ignore[no-untyped-def]
    qtbot, qloop, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_range = board([port("ran", "du-1"), port("ran", "du-2")])
    readers = Readers(old_range, board([port("ran", "du-9")]))
    presenter = PtpPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    shown = presenter.shown

    def chosen_meanwhile(*args: Any) -> Any:
        # the worst turn: the range is chosen (on the UI thread) as the merge begins, which
        # then keeps the old range's ports in the new range's rows
        presenter._ranges += 1
        presenter.forget()
        return shown(*args)

    boards: list[PtpBoard] = []
    presenter.sig_board.connect(boards.append)
    monkeypatch.setattr(presenter, "shown", chosen_meanwhile)
    try:
        run_coro(qtbot, presenter.read())
        assert boards == []  # the old range's answer is not shown
        monkeypatch.setattr(presenter, "shown", shown)
        run_coro(qtbot, presenter.read())
    finally:
        presenter.close()
    assert [r.node for r in boards[-1].rows] == ["du-9"]  # nothing of the old range gone
