"""The theme from ``resources/theme.json``: one palette for windows, the wall and the PDF."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from aiops_desktop.models.enums import AnomalySeverity
from aiops_desktop.settings import resources_dir

#: anomaly severity -> the theme's severity palette (resources/theme.json "severity")
ANOMALY_LEVELS = {
    AnomalySeverity.CRITICAL: "critical",
    AnomalySeverity.HIGH: "critical",
    AnomalySeverity.MEDIUM: "warning",
    AnomalySeverity.LOW: "info",
}


@dataclass(frozen=True)
class Theme:
    data: dict[str, Any]

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
        QListWidget::item:selected {{ background: {p["panel_alt"]}; color: {p["text"]}; }}
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
def load_theme(name: str = "theme.json") -> Theme:
    with (resources_dir() / name).open(encoding="utf-8") as fh:
        return Theme(json.load(fh))


def apply_theme(app: QApplication, theme: Theme | None = None) -> Theme:
    theme = theme or load_theme()
    app.setFont(QFont(theme.font_family, theme.font_pt()))
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor(theme.color("window")))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(theme.color("text")))
    palette.setColor(QPalette.ColorRole.Base, QColor(theme.color("panel")))
    palette.setColor(QPalette.ColorRole.Text, QColor(theme.color("text")))
    palette.setColor(QPalette.ColorRole.Button, QColor(theme.color("button")))
    palette.setColor(QPalette.ColorRole.ButtonText, QColor(theme.color("text")))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(theme.color("accent")))
    app.setPalette(palette)
    app.setStyleSheet(theme.stylesheet())
    return theme
