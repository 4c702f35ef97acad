"""Driving the window by keyboard over the sample capture: Ctrl+1…9 switch pages, Ctrl+K finds
a page or a GPU by a few letters, "/" filters the page's tables and Esc clears it, every table
sorts by a header click and copies or exports its rows (CSV with formula cells defused), the
menus are File/View/Settings/Help with a shortcut sheet, and a capture's window offers nothing
that would change its registry."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from aiops_desktop.app import DesktopApp
from tests.ui.conftest import run_until
from ui.pages import PAGES
from ui.views.command_palette import CommandPalette, fuzzy_score
from ui.views.rows_table import Row, RowsTable, csv_cell

CTRL = Qt.KeyboardModifier.ControlModifier


def test_ctrl_digits_switch_pages(sample_desktop: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = sample_desktop.window
    window.activateWindow()
    for n in (2, 5, 1):
        qtbot.keyClick(window, str(n), CTRL)
        assert window.stack.currentWidget() is window.page(PAGES[n - 1].key)


def test_the_command_palette_finds_pages_and_gpus(sample_desktop: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = sample_desktop.window
    window.show_view("gpu")
    run_until(qtbot, lambda: window.commands._gpus is not None and window.truth is not None,
              timeout=20)  # fmt: skip
    qtbot.keyClick(window, "k", CTRL)
    palette = next(w for w in QApplication.topLevelWidgets()
                   if isinstance(w, CommandPalette) and w.isVisible())  # fmt: skip
    qtbot.keyClicks(palette.query, "ptp")
    assert palette.results.item(0).text() == "Page: PTP"
    qtbot.keyClick(palette.query, Qt.Key.Key_Return)
    assert window.stack.currentWidget() is window.page("ptp")

    palette = window.commands.open_palette()
    qtbot.keyClicks(palette.query, "gpu3 xid")
    first = palette.results.item(0).text()
    assert first.startswith("GPU: ran-east gpu-1/gpu3") and "XID 79" in first
    qtbot.keyClick(palette.query, Qt.Key.Key_Return)
    assert window.stack.currentWidget() is window.page("gpu")
    assert window.filter_bar.isVisible() and window.filter_bar.text() == "ran-east/gpu-1/gpu3$"
    kinds = {c.kind for c in window.commands.commands()}
    assert {"Page", "Action", "Cluster", "GPU", "PTP", "Pod"} <= kinds


def test_fuzzy_matching_ranks_words_and_runs_first() -> None:
    exact, scattered = fuzzy_score("ptp", "Page PTP"), fuzzy_score("ptp", "Page a-t-p")
    assert exact is not None and scattered is not None and exact > scattered
    assert fuzzy_score("xyz", "Page Fleet") is None
    assert fuzzy_score("rns", "ran-east node") is not None


def test_slash_filters_the_tables_and_esc_clears(sample_desktop: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = sample_desktop.window
    window.show_view("ptp")
    view = window.page("ptp")
    table = view.findChildren(RowsTable)[0]
    run_until(qtbot, lambda: table.rowCount() > 3, timeout=20)
    every = table.rowCount()
    window.activateWindow()
    qtbot.keyClick(window, "/")
    assert window.filter_bar.isVisible() and window.filter_bar.hasFocus()
    qtbot.keyClicks(window.filter_bar, "du-2")
    assert 0 < table.rowCount() < every
    assert all("du-2" in " ".join(table.item(r, c).text() for c in range(table.columnCount()))  # type: ignore[union-attr]
               for r in range(table.rowCount()))  # fmt: skip
    qtbot.keyClick(window.filter_bar, Qt.Key.Key_Escape)
    assert not window.filter_bar.isVisible() and table.rowCount() == every


def test_tables_sort_copy_and_export(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table = RowsTable(["Name", "Value"])
    qtbot.addWidget(table)
    table.set_rows([Row(["b", "2"]), Row(["a", "=cmd|' /C calc'!A0"]), Row(["c", "1, 5"])])
    assert [table.item(r, 0).text() for r in range(3)] == ["b", "a", "c"]  # type: ignore[union-attr]
    table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)  # a header click
    assert [table.item(r, 0).text() for r in range(3)] == ["a", "b", "c"]  # type: ignore[union-attr]
    table.selectRow(1)
    table.copy_selection()
    assert QGuiApplication.clipboard().text() == "b\t2"
    menu = table.context_menu(table.rows_model.index(1, 1))
    assert [a.text() for a in menu.actions() if a.text()] == [
        "Copy row", "Copy cell", "Export 3 rows as CSV…"]  # fmt: skip
    menu.close()
    out = tmp_path / "t.csv"
    table.export_csv(str(out))
    assert out.read_text().splitlines() == [
        "Name,Value", "a,'=cmd|' /C calc'!A0", "b,2", 'c,"1, 5"']  # fmt: skip
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)" and csv_cell('say "hi"') == '"say ""hi"""'


def test_menus_shortcut_sheet_and_a_captures_window(sample_desktop: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = sample_desktop.window
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus == ["File", "View", "Settings", "Help"]
    sheet = window.commands.shortcut_sheet()
    for keys in ("Ctrl+K", "Ctrl+1", "Ctrl+9", "F1", "Esc", "/"):
        assert keys in sheet
    assert "Fleet" in sheet and "Command palette" in sheet
    # a capture: its registry is read-only, so nothing offers to change it
    assert not window.commands.import_action.isVisible()
    assert not window.commands.add_action.isVisible()
    assert "Import kubeconfig" not in {c.title for c in window.commands.commands()}
    window.show_view("cluster:ran-hub")
    window.cluster_page.setCurrentWidget(window.overview)
    assert not window.overview.remove_button.isVisible()
    box = window.commands.show_shortcuts()
    assert "Ctrl+K" in box.text()
    box.close()
