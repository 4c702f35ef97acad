"""A boundary clock's MASTER port (a role, no clock state of its own) on the PTP page: not
grey, not counted unknown in the title, not chosen before the clock it belongs to, its state
cell "—" rather than UNKNOWN; a FAULTY one still a warning."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from aiops_desktop.models.metrics import PromSeries, TaggedSeries
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, PtpBoard
from aiops_desktop.services.gpu_cnf.ptp import board_rows
from ui.theme import Theme
from ui.views.fleet_hw_views import PtpBoardView

BC = {"node": "bc-0", "process": "ptp4l"}


def _now(value: float, iface: str) -> TaggedSeries:
    return TaggedSeries("c1", PromSeries(BC | {"iface": iface}, np.array([1e3]), np.array([value])))


def _shown(view: PtpBoardView, f0_role: float) -> dict[str, list[str]]:
    answers = {
        "clock_state": [_now(1, "ens2fx")], "offset": [_now(5, "ens2fx")],
        "role": [_now(f0_role, "ens2f0"), _now(2, "ens2f1")],
    }  # fmt: skip
    view.show_board(PtpBoard(board_rows(answers), timedelta(hours=1), DEFAULT_THRESHOLD, []))
    return {
        view.table.item(r, 3).text(): [view.table.item(r, c).text() for c in range(6)]
        for r in range(view.table.rowCount())
    }


def test_a_healthy_master_port_reads_fine_after_its_clock(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = PtpBoardView(theme)
    qtbot.addWidget(view)
    shown = _shown(view, 1)
    assert shown["ens2f1"] == ["—", "c1", "bc-0", "ens2f1", "ptp4l", "MASTER"]
    assert shown["ens2fx"][0] == "LOCKED"
    assert view.title.text().startswith("PTP · 2 ports · 0 need attention · +/-100 ns")
    assert view.table.item(0, 3).text() == "ens2fx"  # the clock, chosen first with its chart
    master_row = next(r for r in range(view.table.rowCount())
                      if view.table.item(r, 3).text() == "ens2f1")  # fmt: skip
    colour = view.table.rows_model.index(master_row, 0).data(Qt.ItemDataRole.ForegroundRole)
    assert colour is None or QColor(colour).name() != QColor(theme.status("UNKNOWN")).name()


def test_a_faulty_port_stays_a_warning(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = PtpBoardView(theme)
    qtbot.addWidget(view)
    shown = _shown(view, 3)
    assert view.table.item(0, 3).text() == "ens2f0" and shown["ens2f0"][5] == "FAULTY"
    colour = view.table.rows_model.index(0, 0).data(Qt.ItemDataRole.ForegroundRole)
    assert QColor(colour).name() == QColor(theme.severity("warning")).name()
    assert "· 1 need attention" in view.title.text()
