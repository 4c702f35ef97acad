"""Export capture: clusters, a period (the last N hours, or from/to in UTC) and the file; a
busy bar and Cancel while it is written (on the app's loop: the window goes on), then the
file written in one line, what could not be read, or why it was not written. Closing the
dialog while it runs stops the export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import QDateTime, Qt, QTimeZone
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ui.dialogs.parts import start_and_close, status_line
from ui.dialogs.report_dialog import PERIODS
from ui.presenters.capture_export import CaptureExportPresenter
from ui.views.text import PlainLabel

DEFAULT_PERIOD = "24 h"  # the command line's --since
SHOWN = "yyyy-MM-dd HH:mm 'UTC'"
BUSY = "A capture is already being exported: try again when it is written."
EXPORTING = (
    "Exporting {clusters}, {period}… The live GPU, PTP and SR-IOV pages, Kubernetes objects "
    "and logs are recorded first: this can take a minute or two."
)

CANCELLED = "Export cancelled. (If it was already writing {name}, that file is still completed.)"


def _to_qt(moment: datetime) -> QDateTime:
    return QDateTime.fromSecsSinceEpoch(int(moment.timestamp()), QTimeZone.utc())


def _from_qt(moment: QDateTime) -> datetime:
    return datetime.fromtimestamp(moment.toSecsSinceEpoch(), UTC)


class CaptureExportDialog(QDialog):
    def __init__(self, presenter: CaptureExportPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export capture")
        self._presenter = presenter
        # the presenter's answers are about its export: this dialog's, or one asked in a
        # dialog closed since, which is not what this one shows
        self._request: int | None = None
        self._closed = False
        self._setup_ui()
        presenter.sig_done.connect(self._on_presenter_done)
        presenter.sig_failed.connect(self._on_presenter_failed)
        presenter.sig_cancelled.connect(self._on_presenter_cancelled)

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        self.form = QWidget()
        form = QFormLayout(self.form)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Clusters", self._setup_clusters())
        form.addRow("Period", self._setup_period())
        self.path = QLineEdit(str(self._presenter.default_path()))
        self.path.setReadOnly(True)  # chosen in the save dialog, which asks before replacing
        self.path.setMinimumWidth(420)
        self.choose_button = QPushButton("Choose…")
        self.choose_button.clicked.connect(self.open_save_dialog)
        where = QHBoxLayout()
        where.addWidget(self.path, 1)
        where.addWidget(self.choose_button)
        form.addRow("File", where)
        layout.addWidget(self.form)
        running = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: the export says no steps
        self.progress.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the export: nothing more is asked of the clusters")
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        running.addWidget(self.progress, 1)
        running.addWidget(self.cancel_button)
        layout.addLayout(running)
        self.status = status_line()
        layout.addWidget(self.status)
        self.buttons, self.export_button = start_and_close(self, "Export", self._on_export_clicked)
        layout.addWidget(self.buttons)
        self._show_running(False)

    def _setup_clusters(self) -> QVBoxLayout:
        self.clusters = QListWidget()
        for name in self._presenter.cluster_names():
            item = QListWidgetItem(name)
            item.setCheckState(Qt.CheckState.Checked)
            self.clusters.addItem(item)
        self.clusters.setMaximumHeight(120)
        pick = QHBoxLayout()
        self.all_button = QPushButton("All")
        self.none_button = QPushButton("None")
        self.all_button.clicked.connect(lambda: self._check_all(Qt.CheckState.Checked))
        self.none_button.clicked.connect(lambda: self._check_all(Qt.CheckState.Unchecked))
        pick.addWidget(self.all_button)
        pick.addWidget(self.none_button)
        pick.addStretch(1)
        clusters = QVBoxLayout()
        clusters.addWidget(self.clusters)
        clusters.addLayout(pick)
        return clusters

    def _setup_period(self) -> QWidget:
        box = QWidget()
        rows = QVBoxLayout(box)
        rows.setContentsMargins(0, 0, 0, 0)
        self.last = QRadioButton("Last")
        self.between = QRadioButton("From")
        self.last.setChecked(True)
        self._kinds = QButtonGroup(box)
        self._kinds.addButton(self.last)
        self._kinds.addButton(self.between)
        self.period = QComboBox()
        self.period.addItems(list(PERIODS))
        self.period.setCurrentText(DEFAULT_PERIOD)
        last = QHBoxLayout()
        last.addWidget(self.last)
        last.addWidget(self.period)
        last.addStretch(1)
        end = self._presenter.now().replace(second=0, microsecond=0)
        self.start = QDateTimeEdit(_to_qt(end - timedelta(hours=PERIODS[DEFAULT_PERIOD])))
        self.end = QDateTimeEdit(_to_qt(end))
        for edit in (self.start, self.end):
            edit.setTimeZone(QTimeZone.utc())
            edit.setDisplayFormat(SHOWN)
            edit.setCalendarPopup(True)
        between = QHBoxLayout()
        between.addWidget(self.between)
        between.addWidget(self.start)
        between.addWidget(PlainLabel("to"))
        between.addWidget(self.end)
        between.addStretch(1)
        rows.addLayout(last)
        rows.addLayout(between)
        self.between.toggled.connect(self._on_between_toggled)
        self._on_between_toggled(False)
        return box

    # -- choices ---------------------------------------------------------------------------
    def _check_all(self, state: Qt.CheckState) -> None:
        for i in range(self.clusters.count()):
            self.clusters.item(i).setCheckState(state)

    def _on_between_toggled(self, between: bool) -> None:
        self.period.setEnabled(not between)
        self.start.setEnabled(between)
        self.end.setEnabled(between)

    def chosen_clusters(self) -> list[str]:
        return [
            self.clusters.item(i).text()
            for i in range(self.clusters.count())
            if self.clusters.item(i).checkState() is Qt.CheckState.Checked
        ]

    def chosen_period(self) -> tuple[timedelta, datetime | None, str]:
        """(since, until: None for now, how it is said); ValueError says why it cannot be."""
        if self.last.isChecked():
            label = self.period.currentText()
            return timedelta(hours=PERIODS[label]), None, f"the last {label}"
        start, end = _from_qt(self.start.dateTime()), _from_qt(self.end.dateTime())
        if start >= end:
            raise ValueError("The period must start before it ends.")
        if end > self._presenter.now():
            raise ValueError("The period ends in the future: give an earlier end, or the last "
                             "N hours for a period ending now.")  # fmt: skip
        shown = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
        return end - start, end, shown

    def open_save_dialog(self) -> QFileDialog:
        suffix = self._presenter.suffix
        dialog = QFileDialog(self, "Export capture to", self.path.text(),
                             f"AIOps Desktop captures (*{suffix});;All files (*)")  # fmt: skip
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setDefaultSuffix(suffix.lstrip("."))
        dialog.selectFile(self.path.text())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.path.setText)
        dialog.open()
        return dialog

    # -- the export ------------------------------------------------------------------------
    def _on_export_clicked(self) -> None:
        names = self.chosen_clusters()
        if not names:
            self.status.setText("Choose at least one cluster.")
            return
        try:
            since, until, period = self.chosen_period()
        except ValueError as exc:
            self.status.setText(str(exc))
            return
        request = self._presenter.export(Path(self.path.text()), names, since, until)
        if request is None:  # one asked in a dialog closed since is being written
            self.status.setText(BUSY)
            return
        self._request = request
        self._show_running(True)
        clusters = names[0] if len(names) == 1 else f"{len(names)} clusters"
        self.status.setText(EXPORTING.format(clusters=clusters, period=period))

    def _on_cancel_clicked(self) -> None:
        if self._request is not None:
            self._presenter.cancel(self._request)

    def _show_running(self, running: bool) -> None:
        self.form.setEnabled(not running)
        self.export_button.setEnabled(not running)
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)

    def _mine(self, request: int) -> bool:
        return request == self._request

    def _on_presenter_done(self, request: int, text: str) -> None:
        if not self._mine(request):
            return
        self._request = None
        self._show_running(False)
        self.status.setText(text)
        self.path.setText(str(self._presenter.default_path()))  # the next one is a new file

    def _on_presenter_failed(self, request: int, text: str) -> None:
        if not self._mine(request):
            return
        self._request = None
        self._show_running(False)
        self.status.setText(f"The capture could not be exported: {text}")

    def _on_presenter_cancelled(self, request: int) -> None:
        if not self._mine(request):
            return
        self._request = None
        self._show_running(False)
        # what it asked of the clusters stops at once; its last step, the copy into the file
        # (a worker thread), cannot be stopped: begun, the whole capture is still written
        self.status.setText(CANCELLED.format(name=Path(self.path.text()).name))

    def done(self, result: int) -> None:
        """Closed (Close, Escape) while its export runs: the export is stopped, never
        written unseen."""
        if self._request is not None:
            self._presenter.cancel(self._request)
            self._request = None
        if self._closed:
            return
        self._closed = True
        self._presenter.sig_done.disconnect(self._on_presenter_done)
        self._presenter.sig_failed.disconnect(self._on_presenter_failed)
        self._presenter.sig_cancelled.disconnect(self._on_presenter_cancelled)
        super().done(result)
