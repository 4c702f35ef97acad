"""The GPU page's heatmap and problems list and the PTP board sort by a header click: a row
clicked after sorting opens that row's GPU or port, never the one at its place before."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from PySide6.QtCore import Qt

from aiops_desktop.models.gpu import GpuFleet, GpuHealth, GpuReading, GpuState
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, ClockState, PtpBoard, PtpRow, Threshold
from ui.theme import Theme
from ui.views.fleet_hw_views import GpuFleetView, PtpBoardView

NODE = PtpBoardView.HEADERS.index("Node")


def health(node: str, index: str, state: GpuState, reason: str = "") -> GpuHealth:
    reading = GpuReading("ran", node, index, f"GPU-{node}-{index}", model="A100")
    return GpuHealth(reading, state, [reason] if reason else [], False)


def port(node: str, state: ClockState, offset: float, band: float) -> PtpRow:
    row = PtpRow("ran", node, "ens1f0", "ptp4l", state, offset_ns=offset,
                 threshold=Threshold.symmetric(band))  # fmt: skip
    row.history = (np.array([1.0, 2.0]), np.array([offset, offset]))
    return row


def test_a_problem_clicked_after_sorting_opens_that_gpu(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = GpuFleetView(theme)
    qtbot.addWidget(view)
    chosen: list[GpuHealth] = []
    view.sig_gpu_chosen.connect(chosen.append)
    crit = health("node-z", "0", GpuState.CRITICAL, "XID 79 GPU has fallen off the bus")
    warn = health("node-a", "3", GpuState.WARNING, "temperature 72 C")
    view.show_fleet(GpuFleet([crit, warn], []))
    view.problems.sortByColumn(1, Qt.SortOrder.AscendingOrder)  # by GPU: node-a first
    for row in range(view.problems.rowCount()):
        view.problems.cellClicked.emit(row, 1)
        assert chosen[-1].reading.key == view.problems.item(row, 1).text()
    assert view.detail.heading.text().startswith("ran/node-z/gpu0")


def test_a_heatmap_cell_clicked_after_sorting_opens_that_gpu(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = GpuFleetView(theme)
    qtbot.addWidget(view)
    chosen: list[GpuHealth] = []
    view.sig_gpu_chosen.connect(chosen.append)
    hot = health("node-a", "0", GpuState.CRITICAL, "temperature 90 C")
    fine = health("node-b", "0", GpuState.OK)
    view.show_fleet(GpuFleet([hot, fine], []))
    assert view.heatmap.verticalHeaderItem(0).text() == "ran / node-a"
    view.heatmap.sortByColumn(0, Qt.SortOrder.AscendingOrder)  # by its text: "CRITICAL" < "OK"
    view.heatmap.sortByColumn(0, Qt.SortOrder.DescendingOrder)  # node-b's OK first
    assert view.heatmap.verticalHeaderItem(0).text() == "ran / node-b"
    view.heatmap.cellClicked.emit(0, 0)
    assert chosen[-1] is fine
    view.heatmap.cellClicked.emit(1, 0)
    assert chosen[-1] is hot


def test_a_port_selected_after_sorting_draws_its_offset_and_band(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = PtpBoardView(theme)
    qtbot.addWidget(view)
    bad = port("node-b", ClockState.FREERUN, 5e5, 50)
    good = port("node-a", ClockState.LOCKED, 3, 100)
    view.show_board(PtpBoard([bad, good], timedelta(hours=1), DEFAULT_THRESHOLD, []))
    assert view.band.getRegion() == (-50.0, 50.0)  # the worst port, at once
    view.table.sortByColumn(NODE, Qt.SortOrder.AscendingOrder)
    view.table.selectRow(0)
    assert view.table.item(0, NODE).text() == "node-a"
    assert tuple(map(float, view.band.getRegion())) == (-100.0, 100.0)
    assert view.chart.curve("ran/node-a/ens1f0") is not None and view.chart.curve_count == 1
    # the next read (the same ports, newer): the port chosen stays chosen, as sorted
    again = [port("node-b", ClockState.FREERUN, 6e5, 50), port("node-a", ClockState.LOCKED, 4, 100)]
    view.show_board(PtpBoard(again, timedelta(hours=1), DEFAULT_THRESHOLD, []))
    rows = view.table.selected_rows()
    assert rows == [0] and view.table.item(0, NODE).text() == "node-a"
    assert tuple(map(float, view.band.getRegion())) == (-100.0, 100.0)
    ys = view.chart.curve("ran/node-a/ens1f0").yData  # all its points (drawn: those in range)
    assert list(ys) == [4.0, 4.0]
    # the port chosen is gone: the first port shown is
    view.show_board(PtpBoard(again[:1], timedelta(hours=1), DEFAULT_THRESHOLD, []))
    assert view.table.selected_rows() == [0] and view.band.getRegion() == (-50.0, 50.0)
