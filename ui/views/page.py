"""A titled page: the base of the views that are a title, tables and an error line."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QBoxLayout,
    QFrame,
    QLayout,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models.text import cut
from ui.theme import Theme
from ui.views.rows_table import tip_lines
from ui.views.text import CELL_CHARS, PlainLabel, cell_line, tip


def error_line(label: PlainLabel, said: list[str]) -> None:
    """What could not be read (``said``: server text, a node's nvidia-smi stderr among it)
    on a page's error line: each part one printable line (``cell_line``: no line break, ESC
    or right-to-left override), the line cut to ``CELL_CHARS`` (one text per node of 200 was
    72,000 characters); in its tooltip, made printable, a part a line, the longest cut alike
    to fit (``tip_lines``)."""
    label.setText(cut("; ".join(cell_line(part) for part in said), CELL_CHARS))
    label.setToolTip(tip(tip_lines(said)))


def show_error_text(label: PlainLabel, text: str) -> None:
    """``error_line`` of a presenter's error text: its parts joined by "; "."""
    error_line(label, text.split("; ") if text else [])


def page_title(text: str) -> PlainLabel:
    """A page's title line: a long one is cut at the window's edge, never widens the window
    (every page's: they share it)."""
    title = PlainLabel(text)
    title.setProperty("role", "title")
    title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return title


class TitledPage(QWidget):
    """A titled page: a title line, the page's own widgets, an error line under them."""

    def __init__(self, theme: Theme, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self.body = QVBoxLayout(self)
        self.title = page_title(title)
        self.body.addWidget(self.title)
        self.error = PlainLabel()
        self.error.setStyleSheet(f"color: {theme.severity('critical')};")

    def finish(self) -> None:
        self.body.addWidget(self.error)

    def show_error(self, text: str) -> None:
        show_error_text(self.error, text)


def scrolled(outer: QBoxLayout, inner: QLayout, stretch: int = 0) -> None:
    """``inner`` laid out in a frameless scroll area added to ``outer``: what does not fit is
    scrolled to, never squeezed or cut."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    holder = QWidget()
    holder.setLayout(inner)
    scroll.setWidget(holder)
    outer.addWidget(scroll, stretch)
