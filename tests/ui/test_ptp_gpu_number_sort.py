"""The PTP board's number columns and the GPU heatmap's Utilisation and Temperature sort by
number, not text (1.5e+06 ns sorted between 12 and 3, "9%" above "85%"); the offset by its
size either side of zero; a value not known after every known one."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt

from aiops_desktop.models.gpu import GpuFleet, GpuHealth, GpuReading, GpuState
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, ClockState, Compliance, PtpBoard, PtpRow
from ui.theme import Theme
from ui.views.fleet_hw_views import GpuFleetView, PtpBoardView
from ui.views.rows_table import RowsTable


def _column(table: RowsTable, column: int, order: Qt.SortOrder) -> list[str]:
    table.sortByColumn(column, order)
    return [table.item(r, column).text() for r in range(table.rowCount())]


def _compliance(locked: float, holdover_s: float) -> Compliance:
    return Compliance(samples=240, locked_pct=locked, within_pct=locked, holdover_s=holdover_s,
                      freerun_s=holdover_s, long_holdovers=int(holdover_s), longest_holdover_s=0,
                      steps=240)  # fmt: skip


def test_the_ptp_board_s_number_columns_sort_by_number(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = PtpBoardView(theme)
    qtbot.addWidget(view)
    figures = [(3.0, 6, 9.0, 5.0), (12.0, 248, 85.0, 12.0), (1_500_000.0, 7, 100.0, 900.0),
               (-40.0, 135, 40.0, 30.0), (900.0, 52, 9.5, 100.0)]  # fmt: skip
    rows = [PtpRow("ran", f"node-{i}", "ens1f0", "ptp4l", ClockState.LOCKED, offset_ns=offset,
                   clock_class=clock_class, compliance=_compliance(locked, holdover))
            for i, (offset, clock_class, locked, holdover) in enumerate(figures)]  # fmt: skip
    rows.append(PtpRow("ran", "node-x", "ens1f0", "ptp4l", ClockState.UNKNOWN))  # nothing known
    view.show_board(PtpBoard(rows, timedelta(hours=1), DEFAULT_THRESHOLD, []))
    column = PtpBoardView.HEADERS.index
    down, up = Qt.SortOrder.DescendingOrder, Qt.SortOrder.AscendingOrder
    assert _column(view.table, column("Offset ns"), up) == [
        "3", "12", "-40", "900", "1.5e+06", "-",
    ]  # fmt: skip
    assert _column(view.table, column("Class"), up) == ["6", "7", "52", "135", "248", "-"]
    for name in ("Locked", "Within"):
        assert _column(view.table, column(name), down) == [
            "-", "100.0%", "85.0%", "40.0%", "9.5%", "9.0%",
        ]  # fmt: skip
    for name in ("Holdover s", "Freerun s"):
        assert _column(view.table, column(name), up) == ["5", "12", "30", "100", "900", "-"]
    assert _column(view.table, column("Long holdovers"), up) == ["5", "12", "30", "100", "900",
                                                                 "-"]  # fmt: skip


def test_the_gpu_heatmap_sorts_utilisation_and_temperature_by_number(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = GpuFleetView(theme)
    qtbot.addWidget(view)
    readings = [(9.0, 31.0), (85.0, 9.0), (100.0, 100.0), (40.0, 45.0), (None, None)]
    gpus = [GpuHealth(GpuReading("ran", f"n{i}", "0", f"uuid-{i}", model="A100", util_pct=util,
                                 temperature_c=temp), GpuState.OK, [], False)
            for i, (util, temp) in enumerate(readings)]  # fmt: skip
    view.show_fleet(GpuFleet(gpus, []))
    down = Qt.SortOrder.DescendingOrder
    view.metric.setCurrentText("Utilisation")
    assert _column(view.heatmap, 0, down) == ["-", "100%", "85%", "40%", "9%"]
    view.metric.setCurrentText("Temperature")
    assert _column(view.heatmap, 0, Qt.SortOrder.AscendingOrder) == [
        "9 C", "31 C", "45 C", "100 C", "-",
    ]  # fmt: skip
