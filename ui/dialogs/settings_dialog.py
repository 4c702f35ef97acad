"""Settings: the anomaly detector's sensitivity (the rest of ``settings.json`` is for files:
timeouts, polling); applied at once and kept for the next start."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models.enums import Sensitivity
from ui.presenters.settings import SettingsPresenter
from ui.views.text import PlainLabel

SENSITIVITY_TEXT = {
    Sensitivity.LOW: "Low: only large deviations (3.0)",
    Sensitivity.MEDIUM: "Medium (2.5, the default)",
    Sensitivity.HIGH: "High (2.0)",
    Sensitivity.EXTREME: "Extreme: small deviations too (1.5)",
}


class SettingsDialog(QDialog):
    def __init__(self, presenter: SettingsPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._presenter = presenter
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.sensitivity = QComboBox()
        for level, text in SENSITIVITY_TEXT.items():
            self.sensitivity.addItem(text, level)
        current = presenter.current.detection.sensitivity
        self.sensitivity.setCurrentIndex(list(SENSITIVITY_TEXT).index(current))
        form.addRow("Anomaly sensitivity", self.sensitivity)
        layout.addLayout(form)
        self.status = PlainLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Apply | QDialogButtonBox.StandardButton.Close
        )
        apply = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        apply.clicked.connect(self._on_apply_clicked)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        presenter.sig_saved.connect(self.status.setText)
        presenter.sig_error.connect(self.status.setText)

    def _on_apply_clicked(self) -> None:
        self.status.setText("Saving …")
        self._presenter.set_sensitivity(Sensitivity(self.sensitivity.currentData()))
