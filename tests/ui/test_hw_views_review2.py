"""Review fixes (second round) to the GPU, PTP and drift pages: label values, nvidia-smi text
and servers' errors are outside text. A right-to-left override, ESC or a line break in them
must not reach a cell (one printable line, as the Logs, Events and Incidents views show it),
and a huge one is cut, its whole text kept as the cell's tooltip."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
from PySide6.QtCore import Qt

from aiops_desktop.models.drift import Drift, DriftReport
from aiops_desktop.models.gpu import GpuChange, GpuFleet, GpuHealth, GpuReading, GpuState
from aiops_desktop.models.metrics import ClusterOutcome
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, ClockState, PtpBoard, PtpRow
from ui.theme import Theme
from ui.views.fleet_hw_views import DriftView, GpuFleetView, PtpBoardView
from ui.views.text import CELL_CHARS

RLO = "\u202e"
#: a tail only the whole text holds: seen in the tooltip, never in the cut cell
HUGE = "x" * 1000 + "TAIL"
DISPLAY, TIP = Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole


def cells(table: Any, role: Qt.ItemDataRole = DISPLAY) -> list[list[str]]:
    m = table.model()
    return [[str(m.data(m.index(r, c), role) or "") for c in range(m.columnCount())]
            for r in range(m.rowCount())]  # fmt: skip


def assert_clean(texts: list[str]) -> None:
    for text in texts:
        assert text.isprintable(), ascii(text)  # no ESC, no bidi mark, no line break
        assert len(text) <= CELL_CHARS, len(text)


def test_gpu_problems_and_heatmap_show_outside_text_as_one_cut_line(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    reading = GpuReading("prod", f"node-{RLO}1", "0", "GPU-1", model="NVIDIA H100\x1b[2J",
                         pods=[f"ran/du-{RLO}gnp.exe", "ran/\nFAKE"])  # fmt: skip
    health = GpuHealth(reading, GpuState.WARNING, ["XID 43\nforged", HUGE], False)
    gone = GpuChange(f"prod/evil-{RLO}/gpu0", GpuState.CRITICAL, None, ["ECC\x1b]0;t\x07"])
    outcome = ClusterOutcome("prod", False, 1.0, error="refused\n\x1b[31mFAKE: ok" + HUGE)
    view = GpuFleetView(theme)
    qtbot.addWidget(view)
    view.show_fleet(GpuFleet([health], [outcome], gone=[gone]))

    problem, not_reported = cells(view.problems)
    assert_clean(problem + not_reported)
    assert problem[1:4] == ["prod/node-1/gpu0", "NVIDIA H100[2J", "ran/du-gnp.exe, ran/ FAKE"]
    assert problem[4].startswith("XID 43 forged; xxx") and problem[4].endswith("…")
    assert not_reported[1] == "prod/evil-/gpu0"
    # the whole reasons (made printable and escaped) are the cut cell's tooltip
    tip = cells(view.problems, TIP)[0][4]
    assert "TAIL" in tip and "forged" in tip
    m = view.heatmap.model()
    assert_clean([str(m.headerData(0, Qt.Orientation.Vertical))])  # "cluster / node"
    error = view.error.text()
    assert error.isprintable() and error.startswith("prod: refused [31mFAKE: ok")
    assert "TAIL" not in error
    assert view.error.toolTip() and "TAIL" in view.error.toolTip()


def test_ptp_cells_show_outside_text_as_one_cut_line(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    row = PtpRow("ran", "du-\n1", f"ens1f{RLO}0x", "ptp4l\x1b[2J", ClockState.FREERUN,
                 offset_ns=5.0, role=f"SLAVE{RLO}")  # fmt: skip
    row.notes = ["GNSS\nno fix", HUGE]
    row.history = (np.array([1.0, 2.0]), np.array([5.0, 6.0]))
    outcome = ClusterOutcome("ran", False, 1.0, error=f"timed out{RLO}\nforged")
    view = PtpBoardView(theme)
    qtbot.addWidget(view)
    view.show_board(PtpBoard([row], timedelta(hours=1), DEFAULT_THRESHOLD, [outcome]))

    (shown,) = cells(view.table)
    assert_clean(shown)
    assert shown[1:6] == ["ran", "du- 1", "ens1f0x", "ptp4l[2J", "SLAVE"]
    assert shown[-1].startswith("GNSS no fix; xxx") and shown[-1].endswith("…")
    assert "TAIL" in cells(view.table, TIP)[0][-1]
    assert view.error.text() == "ran: timed out forged"
    assert view.chart.legend_names == ["ran/du- 1/ens1f0x"]  # the offset chart's legend


def test_drift_cells_show_outside_text_as_one_line(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    drift = Drift("GPU driver", f"node-{RLO}1", "version",
                  [("550.54\nFAKE", ["ran-a"]), ("535\x1b[2J", [f"ran-{RLO}b"])])  # fmt: skip
    view = DriftView(theme)
    qtbot.addWidget(view)
    view.show_drift(DriftReport([drift]))
    shown = cells(view.table)
    assert_clean([c for row in shown for c in row])
    assert [row[3] for row in shown] == ["550.54 FAKE", "535[2J"]
    assert shown[1][4] == "ran-b"
