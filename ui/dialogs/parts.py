"""What the dialogs that make a file (a report, a capture) share: the line that says how it
went, and the button that starts it beside Close."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPushButton

from ui.views.text import PlainLabel


def status_line() -> PlainLabel:
    """The dialog's result or error, wrapped and selectable (a path, a reason to copy)."""
    status = PlainLabel()
    status.setWordWrap(True)
    status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return status


def start_and_close(
    dialog: QDialog, text: str, start: Callable[[], None]
) -> tuple[QDialogButtonBox, QPushButton]:
    """The buttons: ``text`` (the default, calling ``start``) and Close (rejecting)."""
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Close
    )
    button = buttons.button(QDialogButtonBox.StandardButton.Ok)
    button.setText(text)
    button.clicked.connect(start)
    buttons.rejected.connect(dialog.reject)
    return buttons, button
