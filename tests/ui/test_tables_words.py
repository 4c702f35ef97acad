"""Tables and words: an empty table says what it means and when it was read, a filter that
hides every row says so, a long cell shows its whole text as its tooltip, headers sit over
their data, and counts are written with correct plurals."""

from __future__ import annotations

from PySide6.QtCore import Qt

from aiops_desktop.models.text import count
from ui.views.rows_table import Row, RowsTable


def test_an_empty_table_says_what_and_when(qtbot) -> None:  # type: ignore[no-untyped-def]
    table = RowsTable(["Alert", "Clusters"])
    qtbot.addWidget(table)
    assert table.empty_message() == "Not read yet"
    table.empty_text = "Nothing firing"
    table.set_rows([])
    assert table.empty_message() == "Nothing firing · checked 0 s ago"
    table.set_rows([Row(["KubePodCrashLooping", "ran-east"])])
    table.set_filter("zzz")
    assert table.rowCount() == 0 and table.empty_message() == "No row matches “zzz”"
    table.show()
    qtbot.waitExposed(table)
    table.grab()  # paints the message without a warning
    table.empty_says_when = False
    table.set_filter("")
    table.set_rows([])
    assert table.empty_message() == "Nothing firing"


def test_long_cells_tip_their_text_and_headers_sit_over_their_data(qtbot) -> None:  # type: ignore[no-untyped-def]
    table = RowsTable(["Subject", "Reason"])
    qtbot.addWidget(table)
    long = "76.35% vs expected 74.62% (+2 %): 14.4 sigma above (ETS, 1 of 3 methods agree)"
    table.set_rows([Row(["node_cpu", long])])
    assert table.item(0, 1).toolTip() == ""  # type: ignore[union-attr]  # no tip of its own
    assert long in table.rows_model.index(0, 1).data(Qt.ItemDataRole.ToolTipRole)
    assert table.rows_model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole) is None  # short
    align = table.horizontalHeader().defaultAlignment()
    assert align & Qt.AlignmentFlag.AlignLeft


def test_counts_have_correct_plurals() -> None:
    assert count(1, "VF") == "1 VF" and count(0, "VF") == "0 VFs"
    assert count(2, "cluster") == "2 clusters" and count(1_200, "pod") == "1,200 pods"
    assert count(2, "policy", "policies") == "2 policies"
