"""First run: no cluster yet. Offers the three ways in."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from ui.views.text import PlainLabel


class EmptyStateView(QWidget):
    """Signals: sig_import_kubeconfig(), sig_add_cluster(), sig_open_capture(),
    sig_open_sample(): see the product working on the bundled sample capture."""

    sig_import_kubeconfig = Signal()
    sig_add_cluster = Signal()
    sig_open_capture = Signal()
    sig_open_sample = Signal()

    def __init__(self, parent: QWidget | None = None, *, has_sample: bool = False) -> None:
        super().__init__(parent)
        self._has_sample = has_sample
        self._setup_ui()

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        title = PlainLabel("Welcome to AIOps Desktop")
        title.setProperty("role", "title")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = PlainLabel(
            "No clusters are registered yet.\n"
            "Import the contexts of a kubeconfig, add a cluster by its URLs,\n"
            "or open a capture exported from another site."
        )
        text.setProperty("muted", True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        layout.addSpacing(8)
        layout.addWidget(text)
        layout.addSpacing(24)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.import_button = QPushButton("Import kubeconfig…")
        self.import_button.setProperty("primary", True)
        self.import_button.clicked.connect(self.sig_import_kubeconfig)
        self.add_button = QPushButton("Add cluster…")
        self.add_button.clicked.connect(self.sig_add_cluster)
        self.capture_button = QPushButton("Open capture…")
        self.capture_button.clicked.connect(self.sig_open_capture)
        for button in (self.import_button, self.add_button, self.capture_button):
            button.setMinimumWidth(180)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.sample_button = QPushButton("No cluster at hand? Open the sample capture")
        self.sample_button.setFlat(True)
        self.sample_button.setToolTip(
            "A recorded fleet (GPU, PTP, SR-IOV and platform data with a few incidents), "
            "opened read-only in its own window and badged SAMPLE DATA"
        )
        self.sample_button.clicked.connect(self.sig_open_sample)
        self.sample_button.setVisible(self._has_sample)
        layout.addSpacing(12)
        layout.addWidget(self.sample_button, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(3)
