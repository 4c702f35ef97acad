"""The one table: sorting by keys and text, the filter, the selection across a sort, and the
columns' fit (grown tables refit, big refreshes keep the widths)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from ui.views.rows_table import Row, RowsTable


def texts(table: RowsTable, column: int) -> list[str]:
    return [table.item(r, column).text() for r in range(table.rowCount())]  # type: ignore[union-attr]


def test_sorts_by_keys_then_text_and_back_to_the_given_order(qtbot) -> None:  # type: ignore[no-untyped-def]
    table = RowsTable(["Pod", "Restarts"])
    qtbot.addWidget(table)
    rows = [Row([name, str(n)], keys={1: n}) for name, n in (("b", 10), ("a", 9), ("c", 100))]
    table.set_rows(rows)
    table.setSortingEnabled(True)
    table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
    assert texts(table, 0) == ["b", "a", "c"]  # as given
    table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    assert texts(table, 1) == ["9", "10", "100"]  # numbers, not "10" < "100" < "9"
    table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert texts(table, 0) == ["c", "b", "a"]
    # a refresh keeps the user's sort
    table.set_rows([*rows, Row(["d", "1"], keys={1: 1})])
    assert texts(table, 0) == ["d", "c", "b", "a"]
    assert table.source_row(0) == 3


def test_filter_hides_rows_without_the_text_and_sorting_still_applies(qtbot) -> None:  # type: ignore[no-untyped-def]
    table = RowsTable(["Namespace", "Pod"])
    qtbot.addWidget(table)
    table.setSortingEnabled(True)
    table.set_rows([Row(["gpu", "Trainer-2"]), Row(["ran", "du-1"]), Row(["gpu", "trainer-1"])])
    table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    table.set_filter("  TRAINER ")
    assert texts(table, 1) == ["Trainer-2", "trainer-1"]  # case-sensitive sort, any-case filter
    table.set_filter("")
    assert table.rowCount() == 3


def test_selection_follows_its_row_through_a_sort(qtbot) -> None:  # type: ignore[no-untyped-def]
    table = RowsTable(["Name"])
    qtbot.addWidget(table)
    table.setSortingEnabled(True)
    table.set_rows([Row([n]) for n in ("b", "c", "a")])
    table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
    table.selectRow(2)  # "a"
    table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    assert [c.text() for c in table.selectedItems()] == ["a"]
    assert table.selectedItems()[0].row() == 0


def test_tooltips_are_plain_text_and_the_raw_tip_is_kept(qtbot) -> None:  # type: ignore[no-untyped-def]
    table = RowsTable(["Alert"])
    qtbot.addWidget(table)
    table.set_rows([Row(["x"], tips={0: "<img src=http://evil/>"})])
    index = table.rows_model.index(0, 0)
    assert "<img" not in str(index.data(Qt.ItemDataRole.ToolTipRole))
    assert table.item(0, 0).toolTip() == "<img src=http://evil/>"  # type: ignore[union-attr]


def test_columns_refit_while_the_table_grows_and_keep_widths_when_it_is_big(qtbot) -> None:  # type: ignore[no-untyped-def]
    table = RowsTable(["A", "B"])
    qtbot.addWidget(table)
    table.set_rows([Row(["x", "y"])])
    narrow = table.columnWidth(0)
    table.set_rows([Row(["x", "y"]), Row(["a much longer cell than before", "y"])])
    grown = table.columnWidth(0)
    assert grown > narrow
    big = [Row([f"row {i}", "y"]) for i in range(RowsTable.FIT_ROWS + 50)]
    table.set_rows(big)
    table.setColumnWidth(0, 333)  # the user's width
    table.set_rows([*big, Row(["an even longer cell than any row before it had", "y"])])
    assert table.columnWidth(0) == 333
    table.set_rows([Row(["x"])], headers=["Other"])  # new headers: fitted again
    assert table.columnWidth(0) != 333
