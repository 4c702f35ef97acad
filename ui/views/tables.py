"""The tables' makers, the alerts view (grouped) and the diagnostics view of the app's own
polling."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from aiops_desktop.models.alerts import Alert, AlertGroup
from aiops_desktop.models.enums import GroupBy
from aiops_desktop.models.polling import DiagnosticsRow
from aiops_desktop.models.text import time_text
from ui.theme import Theme
from ui.views.rows_table import Row, RowsTable
from ui.views.text import PlainLabel


def make_table(headers: list[str]) -> RowsTable:
    return RowsTable(headers)


def fill_table(
    table: RowsTable,
    rows: list[tuple[list[str], str | None]],
    tips: list[dict[int, str]] | None = None,
) -> None:
    """Put ``rows`` (cells, colour of the row's text or None) into ``table``; ``tips``: per
    row, column -> that cell's tooltip."""
    table.set_rows(
        [
            Row(cells, colour=colour, tips=tips[r] if tips else None)
            for r, (cells, colour) in enumerate(rows)
        ]
    )


class AlertsView(QWidget):
    """Signals: sig_group_by_changed(GroupBy); sig_analyse(cluster, epoch s): the root cause
    of the selected group's first cluster around when it started firing; sig_logs(cluster,
    labels, epoch s, errors only): the logs of its first alert's pod or namespace then."""

    sig_group_by_changed = Signal(object)
    sig_analyse = Signal(str, float)
    sig_logs = Signal(str, dict, float, bool)
    HEADERS = ("Severity", "Count", "Group", "Clusters", "Namespaces", "Since", "Summary")

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.title = PlainLabel("Alerts")
        self.title.setProperty("role", "title")
        bar.addWidget(self.title, 1)
        bar.addWidget(PlainLabel("Group by"))
        self.group_by = QComboBox()
        self.group_by.addItems([g.value for g in GroupBy])
        self.group_by.currentTextChanged.connect(self._on_group_by_changed)
        bar.addWidget(self.group_by)
        self.rca_button = QPushButton("Analyse root cause")
        self.rca_button.setEnabled(False)
        self.rca_button.clicked.connect(self._on_analyse)
        bar.addWidget(self.rca_button)
        self.logs_button = QPushButton("Logs")
        self.logs_button.setToolTip("The logs of the first alert's pod (or namespace) then")
        self.logs_button.setEnabled(False)
        self.logs_button.clicked.connect(self._on_logs)
        bar.addWidget(self.logs_button)
        layout.addLayout(bar)
        self.table = make_table(list(self.HEADERS))
        self.table.empty_text = "Nothing firing"
        self.table.itemSelectionChanged.connect(
            lambda: [
                b.setEnabled(bool(self.table.selectionModel().selectedRows()))
                for b in (self.rca_button, self.logs_button)
            ]
        )
        layout.addWidget(self.table, 1)
        self._groups: list[AlertGroup] = []

    def _first_alert(self) -> Alert | None:
        """The selected group's first firing alert."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        group = self._groups[self.table.source_row(rows[0].row())]
        return min(group.alerts, key=lambda a: a.starts_at) if group.alerts else None

    def _on_logs(self) -> None:
        first = self._first_alert()
        if first is not None:
            self.sig_logs.emit(first.cluster, dict(first.labels), first.starts_at.timestamp(),
                               False)  # fmt: skip

    def _on_analyse(self) -> None:
        first = self._first_alert()  # the cluster and the time of the first firing, together
        if first is not None:
            self.sig_analyse.emit(first.cluster, first.starts_at.timestamp())

    def show_groups(self, groups: list[AlertGroup]) -> None:
        self._groups = list(groups)
        rows = []
        for group in groups:
            clusters = group.clusters
            cells = [
                group.severity.value,
                str(len(group.alerts)),
                group.key,
                f"{len(clusters)}: {', '.join(clusters)}",
                ", ".join(group.namespaces) or "—",
                time_text(group.since),
                group.summary,
            ]
            rows.append(Row(cells, colours={0: self._theme.severity(group.severity.value)}))
        self.table.set_rows(rows)
        total = sum(len(g.alerts) for g in groups)
        self.title.setText(f"Alerts · {total} firing in {len(groups)} groups")

    def _on_group_by_changed(self, text: str) -> None:
        self.sig_group_by_changed.emit(GroupBy(text))


class DiagnosticsView(QWidget):
    HEADERS = ("Cluster", "Source", "Last success", "Age", "Latency", "Errors", "In a row",
               "Breaker", "Last error")  # fmt: skip

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        layout = QVBoxLayout(self)
        title = PlainLabel("Polling diagnostics")
        title.setProperty("role", "title")
        layout.addWidget(title)
        self.table = make_table(list(self.HEADERS))
        layout.addWidget(self.table, 1)

    def show_rows(self, rows: list[DiagnosticsRow]) -> None:
        warn = self._theme.severity("warning")
        bad = self._theme.severity("critical")
        shown = []
        for r in rows:
            latency = "—" if r.latency_ms is None else f"{r.latency_ms:.0f} ms"
            cells = [r.cluster, r.source, r.last_success, r.age, latency, str(r.errors),
                     str(r.consecutive), r.breaker, r.last_error]  # fmt: skip
            colours = {6: bad, 8: bad} if r.consecutive else {3: warn} if r.stale else None
            shown.append(Row(cells, colours=colours))
        self.table.set_rows(shown)
