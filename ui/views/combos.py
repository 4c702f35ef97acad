"""A combo box of names as the pages keep them: refilled without losing the choice, and a name
chosen (added where it is not there yet: a jump from elsewhere names it)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox


def refill(combo: QComboBox, names: list[str]) -> None:
    current = combo.currentText()
    combo.clear()
    combo.addItems(names)
    if current in names:
        combo.setCurrentText(current)


def choose(combo: QComboBox, name: str) -> None:
    if name not in [combo.itemText(i) for i in range(combo.count())]:
        combo.addItem(name)
    combo.setCurrentText(name)
