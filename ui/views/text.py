"""Labels that show text as text.

A ``QLabel`` guesses: text that looks like HTML (a tag before the first line break) is drawn
as rich text, images and links included. Most of what labels show comes from outside (a
cluster's name, a server's error, a label value), so the app's labels are ``PlainLabel``:
plain text always. A label that shows the app's own markup says so with ``rich_label``.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from aiops_desktop.models.text import cut, cut_line, printable

CELL_CHARS = 300  # a table cell's most: a 200 KB label, a 1 MB sync error were measured whole


class PlainLabel(QLabel):
    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setTextFormat(Qt.TextFormat.PlainText)


def rich_label(text: str = "") -> QLabel:
    """A label for the app's own markup; what comes from outside in it is escaped first."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


def tip(text: str | None) -> str:
    """A tooltip that shows ``text`` as it is: tooltips guess like labels do, so outside text
    goes in escaped, inside the app's own paragraph (which makes Qt read it as rich text); its
    line breaks stay line breaks (rich text would join the lines). Its other controls and the
    bidi marks go (``printable``): a tip shows a log line or a server's error whole, and a
    right-to-left override in it would make it read other than it is."""
    shown = printable(text) if text else ""
    return f"<p>{html.escape(shown).replace(chr(10), '<br/>')}</p>" if shown else ""


def cell_line(text: str, most: int = CELL_CHARS) -> str:
    """Outside text as a cell shows it: one printable line (no line break forging a row, no
    ESC, no right-to-left override), cut to ``most``. Most is printable already (then
    ``cut_line`` would change nothing): the tables run to tens of thousands of cells."""
    return cut(text, most) if text.isprintable() else cut_line(text, most)
