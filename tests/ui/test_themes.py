"""Themes: every text colour of every theme keeps WCAG AA contrast (4.5:1) on every background
it is drawn on, the selection included; the environment picks the theme over the setting; a
selected row keeps its status colour; states carry a shape besides their colour; and the main
pages in light and dark (1280x720), looked at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem

from aiops_desktop.app import DesktopApp
from aiops_desktop.qt_boot import save_screenshot
from tests.ui.conftest import SAMPLE, _shown, run_until
from tests.ui.references import check_against_reference
from ui.theme import (
    THEMES,
    Theme,
    _document,
    apply_theme,
    chosen_theme,
    colour_mark,
    contrast,
    load_theme,
    readable_on,
    state_mark,
)
from ui.views.rows_table import Row, RowsTable

TEXT = ("text", "text_muted", "accent")
BACKGROUNDS = ("window", "panel", "panel_alt", "button", "selection")
AA = 4.5


def test_every_text_colour_keeps_aa_contrast_in_every_theme() -> None:
    failing = []
    for name, theme in _document()["themes"].items():
        p = theme["palette"]
        pairs = [(fg, p[fg], bg) for fg in TEXT for bg in BACKGROUNDS]
        pairs += [(k, v, bg) for k, v in {**theme["severity"], **theme["status"]}.items()
                  for bg in ("window", "panel", "panel_alt", "selection")]  # fmt: skip
        failing += [f"{name}: {fg} on {bg}: {contrast(colour, p[bg]):.2f}"
                    for fg, colour, bg in pairs if contrast(colour, p[bg]) < AA]  # fmt: skip
    assert set(_document()["themes"]) == set(THEMES)
    assert not failing, failing
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)  # the formula, checked
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # WCAG's own example


def test_the_gpu_heatmaps_text_keeps_aa_contrast_on_every_cell_in_every_theme() -> None:
    """A heatmap cell is filled with its state's colour (dark in the light theme, light in the
    dark ones), the border's grey (no reading) or its utilisation's blend of the panel and blue:
    its text is black or white, whichever reads better on it (on any colour that is 4.58:1 at
    least, so every blend keeps AA too)."""
    failing = []
    for name in THEMES:
        theme = load_theme(name)
        fills = [theme.status("ONLINE"), theme.status("UNKNOWN"), theme.severity("warning"),
                 theme.severity("critical"), theme.color("border"), theme.color("panel"),
                 "#3b82f6"]  # fmt: skip
        ratios = {fill: contrast(readable_on(fill), fill) for fill in fills}
        failing += [f"{name}: {readable_on(fill)} on {fill}: {ratio:.2f}"
                    for fill, ratio in ratios.items() if ratio < AA]  # fmt: skip
    assert not failing, failing
    every = [f"#{r:x}{g:x}{b:x}" for r in range(16) for g in range(16) for b in range(16)]
    assert min(contrast(readable_on(fill), fill) for fill in every) >= AA


def test_the_environment_picks_the_theme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOPS_DESKTOP_THEME", "high-contrast")
    assert chosen_theme("light") == "high-contrast"
    monkeypatch.setenv("AIOPS_DESKTOP_THEME", "")
    assert chosen_theme("light") == "light"
    assert chosen_theme("system") == "dark"  # offscreen: the OS says no scheme
    big = load_theme("light", 1.5)
    assert big.name == "light" and big.font_pt() == round(load_theme("light").font_pt() * 1.5)


def test_a_selected_row_keeps_its_status_colour(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    red = theme.severity("critical")
    table = RowsTable(["State", "Port"])
    qtbot.addWidget(table)
    table.set_rows([Row(["FREERUN", "du-2/ens1f0"], colour=red), Row(["LOCKED", "du-1"])])
    table.selectRow(0)
    option = QStyleOptionViewItem()
    table.itemDelegate().initStyleOption(option, table.rows_model.index(0, 0))  # type: ignore[attr-defined]
    selected_text = option.palette.color(QPalette.ColorRole.HighlightedText)  # type: ignore[attr-defined]
    assert selected_text.name() == QColor(red).name()
    assert contrast(red, theme.color("selection")) >= AA
    # a state's word is drawn with the shape of its colour (they never disagree); a cell
    # that names no state, or has no colour, has none
    assert state_mark("FREERUN") == "✖" and colour_mark(red) == "✖"
    assert colour_mark(theme.severity("warning")) == "▲"
    assert table.rows_model.index(0, 0).data(Qt.ItemDataRole.DecorationRole) is not None
    assert table.rows_model.index(0, 1).data(Qt.ItemDataRole.DecorationRole) is None
    assert table.rows_model.index(1, 0).data(Qt.ItemDataRole.DecorationRole) is None
    assert theme.marked("CRITICAL") == "✖ CRITICAL"


@pytest.fixture
def light_desktop(qtbot, qloop: qasync.QEventLoop, theme: Theme) -> Iterator[DesktopApp]:  # type: ignore[no-untyped-def]
    """The sample capture's window in the light theme (the app's theme put back after)."""
    from aiops_desktop.services.outputs.capture import open_capture

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    light = apply_theme(app, load_theme("light"))
    core = open_capture(SAMPLE).assemble()
    try:
        yield from _shown(qtbot, DesktopApp(core, light), 1280, 720)
    finally:
        apply_theme(app, theme)


PAGES_SHOWN = ("fleet", "incidents", "ptp", "gpu")


def _shoot_pages(desktop: DesktopApp, qtbot, tmp_path: Path, look: str) -> None:  # type: ignore[no-untyped-def]
    window = desktop.window
    window.resize(1280, 720)
    for key in PAGES_SHOWN:
        window.show_view(key)
        page = window.page(key)
        tables = page.findChildren(RowsTable)
        if tables:
            run_until(qtbot, lambda t=tables: any(x.rowCount() for x in t), timeout=20)
        qtbot.wait(300)
        shot = save_screenshot(window, tmp_path / f"{key}_{look}.png")
        check_against_reference(shot, f"theme_{look}_{key}.png", tolerance=12.0)


def test_main_pages_in_light(light_desktop: DesktopApp, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert light_desktop.window.palette().color(QPalette.ColorRole.Window).name() == "#f8fafc"
    _shoot_pages(light_desktop, qtbot, tmp_path, "light")


def test_main_pages_in_dark(sample_desktop: DesktopApp, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _shoot_pages(sample_desktop, qtbot, tmp_path, "dark")
