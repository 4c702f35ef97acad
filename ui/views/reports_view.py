"""The reports kept (90 days), newest first, with a button for a new one and one to open the
chosen file with the desktop's viewer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from aiops_desktop.models.text import time_text
from ui.theme import Theme
from ui.views.page import TitledPage
from ui.views.tables import fill_table, make_table


class ReportsView(TitledPage):
    """Signals: sig_new_report(): the user asked for a new report."""

    sig_new_report = Signal()

    def __init__(self, theme: Theme, folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(theme, "Reports", parent)
        self._folder = folder
        bar = QHBoxLayout()
        self.new_button = QPushButton("New report…")
        self.new_button.clicked.connect(self.sig_new_report.emit)
        self.open_button = QPushButton("Open")
        self.open_button.clicked.connect(self.open_selected)
        bar.addWidget(self.new_button)
        bar.addWidget(self.open_button)
        bar.addStretch(1)
        self.body.addLayout(bar)
        self.table = make_table(["Report", "Size", "Written"])
        self.table.doubleClicked.connect(lambda _index: self.open_selected())
        self.body.addWidget(self.table, 1)
        self.finish()

    def show_reports(self, rows: list[tuple[str, int, float]]) -> None:
        fill_table(self.table, [
            ([name, f"{size / 1e3:.0f} kB",
              time_text(datetime.fromtimestamp(mtime, UTC))], None)
            for name, size, mtime in rows
        ])  # fmt: skip
        self.title.setText(f"Reports · {len(rows)} kept for 90 days in {self._folder}")

    def selected_path(self) -> Path | None:
        rows = sorted({i.row() for i in self.table.selectedItems()})
        return self._folder / self.table.item(rows[0], 0).text() if rows else None

    def open_selected(self) -> bool:
        path = self.selected_path()
        return path is not None and QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
