"""New report: type, period, clusters and formats; a progress bar while it is made, then the
files written (or what went wrong)."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models.reports import CAPACITY_DAYS, ReportType
from ui.dialogs.parts import start_and_close, status_line
from ui.presenters.reports import ReportsPresenter

PERIODS = {"1 h": 1, "6 h": 6, "12 h": 12, "24 h": 24, "48 h": 48, "7 days": 168, "30 days": 720}
FORMATS = ("pdf", "html", "md", "json")
#: the period a report type asks for unless another is chosen (the command line's too): a
#: capacity plan's trend needs days of history, a shift's report its last 12 h
DEFAULT_PERIODS = {
    ReportType.CAPACITY: next(k for k, h in PERIODS.items() if h >= CAPACITY_DAYS * 24)
}
DEFAULT_PERIOD = "12 h"
BUSY = "A report is already being made: try again when it is written."


def default_period(kind: ReportType) -> str:
    return DEFAULT_PERIODS.get(kind, DEFAULT_PERIOD)


class ReportDialog(QDialog):
    def __init__(self, presenter: ReportsPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New report")
        self._presenter = presenter
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.kind = QComboBox()
        for kind in ReportType:
            self.kind.addItem(kind.heading, kind)
        self.kind.setCurrentIndex(list(ReportType).index(ReportType.HANDOVER))
        form.addRow("Type", self.kind)
        self.period = QComboBox()
        self.period.addItems(list(PERIODS))
        self._kind_shown = ReportType.HANDOVER
        self.period.setCurrentText(default_period(self._kind_shown))
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        form.addRow("Last", self.period)
        self.clusters = QListWidget()
        for name in presenter.cluster_names():
            item = QListWidgetItem(name)
            item.setCheckState(Qt.CheckState.Checked)
            self.clusters.addItem(item)
        self.clusters.setMaximumHeight(120)
        form.addRow("Clusters", self.clusters)
        formats = QHBoxLayout()
        self.formats = {fmt: QCheckBox(fmt.upper()) for fmt in FORMATS}
        self.formats["pdf"].setChecked(True)
        for box in self.formats.values():
            formats.addWidget(box)
        form.addRow("Formats", formats)
        layout.addLayout(form)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
        self.status = status_line()
        layout.addWidget(self.status)
        self.buttons, self.generate_button = start_and_close(
            self, "Generate", self._on_generate_clicked
        )
        layout.addWidget(self.buttons)
        # the presenter's signals are about its request being made: this dialog's, or one
        # asked in a dialog closed since (or beside it), whose files are not this one's
        self._request: int | None = None
        presenter.sig_progress.connect(self._on_progress)
        presenter.sig_done.connect(self._on_done)
        presenter.sig_failed.connect(self._on_error)

    def chosen_clusters(self) -> list[str] | None:
        names = [
            self.clusters.item(i).text()
            for i in range(self.clusters.count())
            if self.clusters.item(i).checkState() is Qt.CheckState.Checked
        ]
        return None if len(names) == self.clusters.count() else names

    def _on_generate_clicked(self) -> None:
        formats = [fmt for fmt, box in self.formats.items() if box.isChecked()]
        names = self.chosen_clusters()
        if not formats or names == []:
            self.status.setText("Choose at least one cluster and one format.")
            return
        hours = PERIODS[self.period.currentText()]
        kind = ReportType(self.kind.currentData())
        request = self._presenter.generate(kind, names, timedelta(hours=hours), formats)
        if request is None:  # one asked before (a dialog closed since) is being made
            self.status.setText(BUSY)
            return
        self._request = request
        self.generate_button.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setValue(0)

    def _on_kind_changed(self) -> None:
        """The new type's period, unless one was chosen (not the last type's own)."""
        kind = ReportType(self.kind.currentData())
        if self.period.currentText() == default_period(self._kind_shown):
            self.period.setCurrentText(default_period(kind))
        self._kind_shown = kind

    def _mine(self) -> bool:
        return self._request is not None and self._presenter.request == self._request

    def _on_progress(self, text: str, percent: int) -> None:
        if not self._mine():
            return
        self.status.setText(text)
        self.progress.setValue(percent)

    def _on_done(self, paths: list[str]) -> None:
        if not self._mine():
            return
        self.generate_button.setEnabled(True)
        self.status.setText("Written:\n" + "\n".join(paths))

    def _on_error(self, text: str) -> None:
        if not self._mine():
            return
        self.generate_button.setEnabled(True)
        self.progress.setVisible(False)
        self.status.setText(f"The report could not be made: {text}")
