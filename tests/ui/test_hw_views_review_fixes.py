"""Review fixes of the GPU and PTP pages, the anomalies page and the jumps from them: an
answer for a range no longer chosen is dropped (never drawn, never kept); a port without an
offset history clears the chart; the GPU heading says an answer's notes once; the charts span
the range chosen; the Cluster box falling back to "All" filters on nothing; an anomaly older
than the longest preset opens a range that holds it; a capture's pages ask around its end."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from aiops_desktop.models import Cluster
from aiops_desktop.models.gpu import GpuHealth, GpuHistory, GpuReading, GpuState
from aiops_desktop.models.metrics import ClusterOutcome
from aiops_desktop.models.ptp import ClockState, PtpBoard, PtpRow, Threshold
from aiops_desktop.models.time_range import TimeRange
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.ui.conftest import run_until
from ui import page_views
from ui.main_window import MainWindow
from ui.presenters.anomalies import AnomaliesPresenter
from ui.presenters.gpu_cnf import GpuPresenter, PtpPresenter
from ui.theme import Theme
from ui.views.anomalies_view import AnomaliesView
from ui.views.fleet_hw_views import GpuDetail, GpuFleetView, PtpBoardView
from ui.views.time_range import ABSOLUTE, TimeRangeBar

CAPTURE_END = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
READING = GpuReading(cluster="c1", node="n1", gpu="0", uuid="GPU-1", model="A100")


def x_span(chart: Any) -> tuple[float, float]:
    start, end = chart.getPlotItem().getViewBox().viewRange()[0]
    return float(start), float(end)


class SlowReaders:
    """A longer range takes longer to read (more points); each answer says its range."""

    def __init__(self) -> None:
        self.boards = 0

    def with_metrics(self) -> list[Cluster]:
        return [Cluster(name="ran-a", api_server_url="https://ran-a.example:6443")]

    async def gpu_history(self, reading: GpuReading, shown: TimeRange) -> GpuHistory:
        await asyncio.sleep(0.3 if shown.seconds > 86400 else 0.02)
        return GpuHistory(reading=reading, window=shown.window)

    async def ptp_board(self, shown: TimeRange) -> tuple[PtpBoard, list[str]]:
        self.boards += 1
        if shown.seconds > 86400:  # the old range's read: slow, and the cluster read fine
            await asyncio.sleep(0.3)
            row = PtpRow("ran-a", "du-old", "ens1f0", "ptp4l", ClockState.LOCKED, offset_ns=5)
            return PtpBoard([row], shown.window, Threshold(), []), []
        failed = ClusterOutcome("ran-a", False, 3000.0, reason="timed_out", error="timed out")
        return PtpBoard([], shown.window, Threshold(), [failed]), ["ran-a: timed out"]


def test_a_slower_gpu_history_for_an_older_range_is_dropped(qtbot, qloop) -> None:  # type: ignore[no-untyped-def]
    presenter = GpuPresenter(readers=SlowReaders(), tasks=TaskSupervisor())  # type: ignore[arg-type]
    windows: list[timedelta] = []
    presenter.sig_history.connect(lambda h: windows.append(h.window))
    try:
        presenter.read_history(READING)  # the GPU chosen, over 1 h
        run_until(qtbot, lambda: len(windows) == 1)
        presenter.set_range(TimeRange.preset("7 d"))
        presenter.set_range(TimeRange.preset("1 h"))  # corrected at once: 7 d answers last
        qtbot.wait(500)
    finally:
        presenter.close()
    assert windows == [timedelta(hours=1), timedelta(hours=1)]  # never the 7 days


def test_a_ptp_read_for_the_range_left_is_neither_shown_nor_kept(qtbot, qloop) -> None:  # type: ignore[no-untyped-def]
    readers = SlowReaders()
    presenter = PtpPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    presenter.range = TimeRange.preset("7 d")
    boards: list[PtpBoard] = []
    presenter.sig_board.connect(boards.append)
    try:
        presenter.refresh()  # the 7 d read runs ...
        run_until(qtbot, lambda: readers.boards == 1)
        presenter.set_range(TimeRange.preset("1 h"))  # ... when another range is chosen
        run_until(qtbot, lambda: readers.boards == 2 and not presenter._busy)
    finally:
        presenter.close()
    assert [b.window for b in boards] == [timedelta(hours=1)]
    assert boards[-1].rows == []  # the 7 d read's port is not kept as ran-a's last rows


def board(*rows: PtpRow) -> PtpBoard:
    return PtpBoard(rows=list(rows), window=timedelta(hours=1), threshold=Threshold(), outcomes=[])


def test_a_port_without_an_offset_history_clears_the_chart(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = PtpBoardView(theme)
    qtbot.addWidget(view)
    ts = np.arange(0, 600, 10.0) + CAPTURE_END.timestamp() - 600
    good = PtpRow("c1", "node-a", "ens1f0", "ptp4l", ClockState.LOCKED, offset_ns=5,
                  history=(ts, np.full(ts.size, 5.0)))  # fmt: skip
    bad = PtpRow("c2", "node-b", "ens2f0", "ptp4l", ClockState.FREERUN, history=None)
    view.show_board(board(bad, good))
    for want in ("node-a", "node-b"):  # the LOCKED port, then the FREERUN one
        row = next(r for r in range(view.table.rowCount()) if view.table.item(r, 2).text() == want)
        view.table.selectRow(row)
        if want == "node-a":
            assert view.chart.curve_count == 1
    chosen = view._chosen()
    assert chosen is not None and chosen.node == "node-b"
    assert view.chart.curve_count == 0 and view.chart.empty


def test_the_ptp_offset_chart_spans_the_range_chosen(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = PtpBoardView(theme)
    qtbot.addWidget(view)
    view.time_range.clock = lambda: CAPTURE_END
    end = CAPTURE_END.timestamp()
    ts = np.arange(end - 600, end, 10.0)  # ten minutes read of the hour
    view.show_board(board(PtpRow("c1", "node-a", "ens1f0", "ptp4l", ClockState.LOCKED,
                                 offset_ns=5, history=(ts, np.full(ts.size, 5.0)))))  # fmt: skip
    assert x_span(view.chart) == (end - 3600, end)


def test_the_gpu_heading_says_an_answers_notes_once(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    detail = GpuDetail(theme)
    qtbot.addWidget(detail)
    detail.show_loading(GpuHealth(READING, GpuState.OK, [], False))
    ts = np.arange(0, 3600, 60.0) + CAPTURE_END.timestamp() - 3600
    for _ in range(4):  # the range flipped four times, the same GPU
        detail.show_history(GpuHistory(reading=READING, window=timedelta(hours=24),
                                       series={"util_pct": (ts, np.full(ts.size, 50.0))},
                                       note="history from the cache"))  # fmt: skip
    assert detail.heading.text() == "c1/n1/gpu0 · A100 · OK · history from the cache"


def test_the_gpu_charts_span_the_range_chosen(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = GpuFleetView(theme)
    qtbot.addWidget(view)
    view.time_range.clock = lambda: CAPTURE_END
    view.time_range.select("24 h")
    view.detail.show_loading(GpuHealth(READING, GpuState.OK, [], False))
    end = CAPTURE_END.timestamp()
    ts = np.arange(end - 3600, end, 60.0)  # the last hour of the 24 read
    view.show_history(GpuHistory(reading=READING, window=timedelta(hours=24),
                                 series={"util_pct": (ts, np.full(ts.size, 50.0))}))  # fmt: skip
    for chart in view.detail.charts.values():
        assert x_span(chart) == (end - 86400, end)


class Truth:
    def __init__(self, names: list[str]) -> None:
        self.clusters = [SimpleNamespace(name=n, hub=None) for n in names]


class Fleet:
    def __init__(self) -> None:
        self.names = ["edge-1", "edge-2"]

    @property
    def last(self) -> Truth:
        return Truth(self.names)


class NoBus:
    def subscribe(self, _topic: str, _callback: Any) -> Any:
        return lambda: None


def test_the_cluster_box_falling_back_to_all_filters_on_no_cluster(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    fleet = Fleet()
    presenter = AnomaliesPresenter(anomalies=None, fleet=fleet, bus=NoBus(), tasks=TaskSupervisor())  # type: ignore[arg-type]
    presenter.refresh = lambda: None  # type: ignore[method-assign]  # the filter alone
    view = AnomaliesView(theme)
    qtbot.addWidget(view)
    view.sig_filter_changed.connect(presenter.set_filter)
    view.set_clusters(presenter.clusters())
    view.cluster.setCurrentText("edge-2")
    assert presenter.filter.clusters == ("edge-2",)
    fleet.names = ["edge-1"]  # edge-2 no longer in the fleet's truth
    view.set_clusters(presenter.clusters())  # the page shown again
    assert view.cluster.currentText() == "All" and presenter.filter.clusters == ()
    filters: list[Any] = []
    view.sig_filter_changed.connect(lambda *a: filters.append(a))
    view.cluster.setCurrentText("edge-1")
    view.set_clusters(["edge-1", "edge-3"])  # the choice is still offered: nothing changed
    assert len(filters) == 1 and presenter.filter.clusters == ("edge-1",)


def open_anomaly_on(bar: TimeRangeBar, age: timedelta) -> TimeRange:
    """``MainWindow.open_anomaly`` for an anomaly ``age`` before a capture's end, on a
    dashboard whose range bar is ``bar``."""
    dashboard = SimpleNamespace(time_range=bar, select_range=bar.select, charts={},
                                scroll_to=lambda _chart: None)  # fmt: skip
    window = SimpleNamespace(
        show_cluster=lambda _name: None, dashboard=dashboard,
        presenters=SimpleNamespace(dashboard=SimpleNamespace(now=lambda: CAPTURE_END)),
    )  # fmt: skip
    MainWindow.open_anomaly(window, "edge-1", "cpu", (CAPTURE_END - age).timestamp())  # type: ignore[arg-type]
    return bar.current


def test_an_anomaly_older_than_the_longest_preset_opens_a_range_holding_it(qtbot) -> None:  # type: ignore[no-untyped-def]
    bar = TimeRangeBar("1 h", clock=lambda: CAPTURE_END)
    qtbot.addWidget(bar)
    assert open_anomaly_on(bar, timedelta(days=3)) == TimeRange.preset("7 d")
    for days in (6.5, 10, 25):
        at = CAPTURE_END - timedelta(days=days)
        start, end = open_anomaly_on(bar, timedelta(days=days)).bounds(CAPTURE_END)
        assert start + timedelta(hours=6) <= at <= end - timedelta(hours=6), days
        assert bar.range.currentText() == ABSOLUTE


class Dash(QObject):
    sig_panels = Signal(list)
    sig_panel_data = Signal(str, dict, float, float)
    sig_panel_anomalies = Signal(str, list)
    sig_freshness = Signal(str, bool)
    sig_analysis = Signal(str)
    cluster = "edge-1"

    def now(self) -> datetime:
        return CAPTURE_END

    def analyse_history(self, *_a: Any) -> None: ...
    def set_range(self, *_a: Any) -> None: ...
    def set_paused(self, *_a: Any) -> None: ...


class Kube(QObject):
    sig_validation = Signal(object)
    sig_inventory = Signal(object)
    sig_events = Signal(object)
    sig_status = Signal(object)

    def reload(self) -> None: ...
    def discover(self) -> None: ...


class NoReaders:
    def with_metrics(self) -> list[Cluster]:
        return []


def capture_presenters() -> Any:
    tasks = TaskSupervisor()
    return SimpleNamespace(
        dashboard=Dash(), kube=Kube(), registry=SimpleNamespace(allows=lambda _a: False),
        gpu=GpuPresenter(readers=NoReaders(), tasks=tasks),  # type: ignore[arg-type]
        ptp=PtpPresenter(readers=NoReaders(), tasks=tasks),  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_pods_logs_in_a_capture_are_asked_around_its_end(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    asked: list[float] = []
    window = SimpleNamespace(
        confirm_remove=lambda _n: None, on_cluster_tab_changed=lambda _i: None,
        open_logs=lambda cluster, labels, at, errors_only=False: asked.append(at),
    )  # fmt: skip
    page = page_views.cluster_page(capture_presenters(), theme, window)  # type: ignore[arg-type]
    qtbot.addWidget(page)
    page.kube.sig_pod_logs.emit("ran", "du-0")
    assert asked == [CAPTURE_END.timestamp()]


def test_the_gpu_and_ptp_range_bars_open_absolute_at_the_captures_end(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    p = capture_presenters()
    for build in (page_views.gpu, page_views.ptp):
        view = build(p, theme, SimpleNamespace())  # type: ignore[arg-type]
        qtbot.addWidget(view)
        view.time_range.range.setCurrentText(ABSOLUTE)
        assert view.time_range.end.dateTime().toSecsSinceEpoch() == CAPTURE_END.timestamp()
