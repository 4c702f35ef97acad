"""A titled page: the base of the views that are a title, tables and an error line."""

from __future__ import annotations

from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from ui.theme import Theme
from ui.views.text import PlainLabel


class TitledPage(QWidget):
    """A titled page: a title line, the page's own widgets, an error line under them."""

    def __init__(self, theme: Theme, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self.body = QVBoxLayout(self)
        self.title = PlainLabel(title)
        self.title.setProperty("role", "title")
        # a long title is cut at the window's edge, never widens the window
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.body.addWidget(self.title)
        self.error = PlainLabel()
        self.error.setStyleSheet(f"color: {theme.severity('critical')};")

    def finish(self) -> None:
        self.body.addWidget(self.error)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
