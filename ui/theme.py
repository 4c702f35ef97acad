"""The themes of ``resources/theme.json`` (dark, light, high-contrast): one palette each for
windows, charts and the wall (PDFs are always light). Which one: ``AIOPS_DESKTOP_THEME``
(kiosks, screenshots) over the setting (``ui.theme``), whose default follows the OS's light or
dark scheme (dark when the OS does not say). Every state has a mark besides its colour
(``mark``), and a selected row keeps its cells' status colours (``StatusKeepingDelegate``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QGuiApplication,
    QIcon,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import QApplication, QStyledItemDelegate, QStyleOptionViewItem

from aiops_desktop.settings import resources_dir

THEME_ENV = "AIOPS_DESKTOP_THEME"
THEMES = ("dark", "light", "high-contrast")
SYSTEM = "system"  # the setting's default: the OS's light or dark


@dataclass(frozen=True)
class Theme:
    """``data``: the chosen theme's palette, severity, status and chart colours, with the
    shared marks and font (``font_scale`` already applied to the sizes) and its ``name``."""

    data: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.data["name"])

    def mark(self, state: str) -> str:
        """The shape that says ``state`` without colour (✖ critical, ▲ warning, ● ok …)."""
        return str(self.data["marks"].get(str(state).upper(), ""))

    def marked(self, state: str) -> str:
        """``state`` with its mark in front ("✖ CRITICAL"), for cells and badges."""
        mark = self.mark(state)
        return f"{mark} {state}" if mark else str(state)

    def chart(self, role: str) -> str:
        return str(self.data["chart"][role])

    def color(self, name: str) -> str:
        return str(self.data["palette"][name])

    def status(self, state: str) -> str:
        return str(self.data["status"].get(state, self.data["status"]["UNKNOWN"]))

    def severity(self, level: str) -> str:
        return str(self.data["severity"][level.lower()])

    @property
    def font_family(self) -> str:
        return str(self.data["font"]["family"])

    def font_pt(self, role: str = "size_pt") -> int:
        return int(self.data["font"][role])

    def stylesheet(self) -> str:
        p = self.data["palette"]
        return f"""
        QWidget {{ background: {p["window"]}; color: {p["text"]}; }}
        QListWidget, QTableWidget, QTableView, QLineEdit, QComboBox, QPlainTextEdit, QTextEdit {{
            background: {p["panel"]}; border: 1px solid {p["border"]}; border-radius: 4px;
        }}
        QListWidget::item {{ padding: 6px; }}
        QListWidget::item:selected {{ background: {p["selection"]}; color: {p["text"]}; }}
        QTableView {{ selection-background-color: {p["selection"]}; }}
        QPushButton {{
            background: {p["button"]}; border: 1px solid {p["border"]}; border-radius: 6px;
            padding: 8px 16px;
        }}
        QPushButton:hover {{ background: {p["button_hover"]}; }}
        QPushButton:disabled {{ color: {p["text_muted"]}; }}
        QPushButton[primary="true"] {{ border-color: {p["accent"]}; color: {p["accent"]}; }}
        QLabel[muted="true"] {{ color: {p["text_muted"]}; }}
        QLabel[role="title"] {{ font-size: {self.font_pt("title_pt")}pt; font-weight: 600; }}
        QLabel[role="warning"] {{
            color: {self.severity("warning")}; border: 1px solid {self.severity("warning")};
            border-radius: 4px; padding: 6px;
        }}
        QLabel[role="error"] {{ color: {self.severity("critical")}; }}
        QLabel[chat="user"] {{
            background: {p["panel_alt"]}; border-radius: 6px; padding: 8px; margin-left: 80px;
        }}
        QLabel[chat="assistant"] {{
            border-left: 3px solid {p["accent"]}; padding: 4px 8px; margin-right: 80px;
        }}
        QFrame[card="true"] {{
            background: {p["panel"]}; border: 1px solid {p["border"]}; border-radius: 8px;
        }}
        QHeaderView::section {{ background: {p["panel_alt"]}; border: none; padding: 4px; }}
        QStatusBar {{ background: {p["panel"]}; color: {p["text_muted"]}; }}
        QMenuBar, QMenu {{ background: {p["panel"]}; }}
        QMenu::item:selected {{ background: {p["panel_alt"]}; }}
        """


@cache
def _document() -> dict[str, Any]:
    with (resources_dir() / "theme.json").open(encoding="utf-8") as fh:
        document: dict[str, Any] = json.load(fh)
    return document


def chosen_theme(setting: str = SYSTEM) -> str:
    """The theme to use: the environment's, else the setting's, else the OS scheme's."""
    name = os.environ.get(THEME_ENV, "").strip().lower() or setting
    if name in THEMES:
        return name
    hints = QGuiApplication.styleHints() if QGuiApplication.instance() is not None else None
    if hints is not None and hints.colorScheme() == Qt.ColorScheme.Light:
        return "light"
    return "dark"


@cache
def load_theme(name: str | None = None, font_scale: float = 1.0) -> Theme:
    """Theme ``name`` (one of THEMES; None: ``chosen_theme()``), fonts scaled."""
    document = _document()
    name = name if name in THEMES else chosen_theme()
    font = {k: (round(v * font_scale) if isinstance(v, int | float) else v)
            for k, v in document["font"].items()}  # fmt: skip
    return Theme({**document["themes"][name], "marks": document["marks"], "font": font,
                  "name": name})  # fmt: skip


def luminance(colour: str) -> float:
    """WCAG 2's relative luminance of ``colour``: 0 for black, 1 for white."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    q = QColor(colour)
    return 0.2126 * linear(q.redF()) + 0.7152 * linear(q.greenF()) + 0.0722 * linear(q.blueF())


def contrast(a: str, b: str) -> float:
    """WCAG 2's contrast ratio of two colours, 1 to 21 (text keeps 4.5 at least)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@cache
def readable_on(fill: str) -> str:
    """Black or white text, whichever contrasts more with ``fill``: a cell filled with a
    state's colour (dark in the light theme, light in the dark ones) keeps 4.5:1 on any fill."""
    return max(("#000000", "#ffffff"), key=lambda text: contrast(text, fill))


#: of the theme applied: state word -> its mark, and a severity's colour -> its mark (a cell
#: that names a state shows the shape of the colour it is drawn in: the two always agree)
_MARKS: dict[str, str] = {}
_COLOUR_MARKS: dict[str, str] = {}


def state_mark(text: str) -> str:
    return _MARKS.get(text.strip().upper(), "") if len(text) <= 16 else ""


def colour_mark(colour: str) -> str:
    return _COLOUR_MARKS.get(QColor(colour).name(), "")


@cache
def state_badge(color: str, mark: str = "", size: int = 14) -> QIcon:
    """The state's colour in the state's shape (✖ critical, ▲ warning, ● ok …), so an eye
    that does not tell red from green reads it too; a plain dot when there is no mark."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if mark:
        font = painter.font()
        font.setPixelSize(size)
        painter.setFont(font)
        painter.setPen(QColor(color))
        painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, mark)
    else:
        painter.setBrush(QColor(color))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    return QIcon(pixmap)


class StatusKeepingDelegate(QStyledItemDelegate):
    """A selected cell keeps its own text colour (a FREERUN row stays red when selected):
    the selection shows as the background alone, which every status colour is legible on."""

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        foreground = index.data(Qt.ItemDataRole.ForegroundRole)
        if foreground is not None:
            colour = foreground.color() if isinstance(foreground, QBrush) else QColor(foreground)
            option.palette.setColor(QPalette.ColorRole.HighlightedText, colour)  # type: ignore[attr-defined]


def apply_theme(app: QApplication, theme: Theme | None = None) -> Theme:
    theme = theme or load_theme()
    _MARKS.clear()
    _MARKS.update(theme.data["marks"])
    _COLOUR_MARKS.clear()
    for level, word in (("info", "INFO"), ("warning", "WARNING"), ("critical", "CRITICAL")):
        _COLOUR_MARKS[QColor(theme.severity(level)).name()] = theme.mark(word)
    for state, colour in theme.data["status"].items():
        _COLOUR_MARKS.setdefault(QColor(colour).name(), theme.mark(state))
    app.setFont(QFont(theme.font_family, theme.font_pt()))
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor(theme.color("window")))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(theme.color("text")))
    palette.setColor(QPalette.ColorRole.Base, QColor(theme.color("panel")))
    palette.setColor(QPalette.ColorRole.Text, QColor(theme.color("text")))
    palette.setColor(QPalette.ColorRole.Button, QColor(theme.color("button")))
    palette.setColor(QPalette.ColorRole.ButtonText, QColor(theme.color("text")))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(theme.color("selection")))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor(theme.color("text")))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor(theme.color("text_muted")))
    palette.setColor(QPalette.ColorRole.ToolTipBase, QColor(theme.color("panel_alt")))
    palette.setColor(QPalette.ColorRole.ToolTipText, QColor(theme.color("text")))
    app.setPalette(palette)
    app.setStyleSheet(theme.stylesheet())
    return theme
