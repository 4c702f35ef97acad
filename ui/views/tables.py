"""The tables' makers, the alerts view (grouped) and the diagnostics view of the app's own
polling."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from aiops_desktop.models.alerts import Alert, AlertGroup
from aiops_desktop.models.enums import GroupBy
from aiops_desktop.models.polling import DiagnosticsRow
from aiops_desktop.models.text import age_text, count, time_text
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


def keep_selection(table: RowsTable, rows: list[Row], kept: Callable[[int], bool]) -> None:
    """Show ``rows`` in a table refreshed on a timer: not set again when they are the same;
    else the rows that ``kept`` (a row's identity, by its index in ``rows``) are selected
    again, as the reset cleared the selection."""
    if table.set_rows_if_changed(rows):
        table.select_sources(kept)


class AlertReads(Protocol):
    """Whether the alerts shown are what fires now (the alerts presenter's ``sig_reads``)."""

    managers: int
    unread: list[str]

    @property
    def complete(self) -> bool: ...
    def freshness(self, clusters: Iterable[str]) -> tuple[float | None, bool]: ...


class AlertsView(QWidget):
    """Each group says how old its alerts are (its Alertmanagers' last answer), badged when
    one of them is failing or stale (they may have ended meanwhile); "Nothing firing" only
    when every Alertmanager was read recently, else how many were not.

    Signals: sig_group_by_changed(GroupBy); sig_analyse(cluster, epoch s): the root cause
    of the selected group's first cluster around when it started firing; sig_logs(cluster,
    labels, epoch s, errors only): the logs of its first alert's pod or namespace then."""

    sig_group_by_changed = Signal(object)
    sig_analyse = Signal(str, float)
    sig_logs = Signal(str, dict, float, bool)
    HEADERS = ("Severity", "Count", "Group", "Clusters", "Namespaces", "Since", "Read",
               "Summary")  # fmt: skip

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
        # "Nothing firing" only once every Alertmanager is known read recently (show_reads)
        self.table.empty_text = "Not known: the Alertmanagers have not been read yet"
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        layout.addWidget(self.table, 1)
        self.unread = PlainLabel()  # the Alertmanagers not read recently, and why
        self.unread.setWordWrap(True)
        self.unread.setStyleSheet(f"color: {theme.severity('warning')};")
        layout.addWidget(self.unread)
        self._groups: list[AlertGroup] = []
        self._reads: AlertReads | None = None  # None: not told (nothing claimed either way)

    def _on_selection_changed(self) -> None:
        chosen = bool(self.table.selectionModel().selectedRows())
        for button in (self.rca_button, self.logs_button):
            button.setEnabled(chosen)

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

    def show_reads(self, reads: AlertReads) -> None:
        """Whether every Alertmanager was read recently; the groups shown next are badged
        with it (``show_groups``)."""
        self._reads = reads
        shown = reads.unread[:5] + ([f"+{len(reads.unread) - 5} more"] if len(reads.unread) > 5
                                    else [])  # fmt: skip
        self.unread.setText(
            f"{self._unread_text(reads)}: " + "; ".join(shown) if reads.unread else ""
        )
        if not reads.managers:
            self.table.empty_text = "No Alertmanager configured: alerts are not read"
        elif reads.complete:
            self.table.empty_text = "Nothing firing"
        else:  # none shown is not none firing
            self.table.empty_text = f"Not known: {self._unread_text(reads)}"
        self.table.viewport().update()

    @staticmethod
    def _unread_text(reads: AlertReads) -> str:
        return f"{len(reads.unread)} of {count(reads.managers, 'Alertmanager')} not read"

    def _read_cell(self, group: AlertGroup) -> tuple[str, str | None, str | None]:
        """The group's "Read" cell: its age, its colour and tooltip when it may be over."""
        if self._reads is None:
            return "—", None, None
        age, lost = self._reads.freshness(group.clusters)
        text = "age unknown" if age is None else age_text(age)
        if not lost:
            return text, None, None
        tip = "its Alertmanager is not answering: these alerts may have ended since"
        return f"STALE · {text}", self._theme.status("UNKNOWN"), tip

    def show_groups(self, groups: list[AlertGroup]) -> None:
        """Shown again every second: the groups selected stay selected (by their key), wherever
        their rows are now; the buttons follow."""
        kept = {self._groups[s].key for s in self.table.selected_sources()}
        self._groups = list(groups)
        rows = []
        read_column = self.HEADERS.index("Read")
        for group in groups:
            clusters = group.clusters
            read, read_colour, read_tip = self._read_cell(group)
            cells = [
                group.severity.value,
                str(len(group.alerts)),
                group.key,
                f"{len(clusters)}: {', '.join(clusters)}",
                ", ".join(group.namespaces) or "—",
                time_text(group.since),
                read,
                group.summary,
            ]
            colours = {0: self._theme.severity(group.severity.value)}
            if read_colour is not None:
                colours[read_column] = read_colour
            tips = {read_column: read_tip} if read_tip else None
            rows.append(Row(cells, colours=colours, tips=tips))
        keep_selection(self.table, rows, lambda s: self._groups[s].key in kept)
        self._on_selection_changed()  # a reset clears the selection without saying so
        total = sum(len(g.alerts) for g in groups)
        title = f"Alerts · {total} firing in {count(len(groups), 'group')}"
        if self._reads is not None and not self._reads.complete:
            title += f" · {self._unread_text(self._reads)}" if self._reads.managers else (
                " · no Alertmanager configured")  # fmt: skip
        self.title.setText(title)

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
        self._rows: list[DiagnosticsRow] = []

    def show_rows(self, rows: list[DiagnosticsRow]) -> None:
        """Shown again every second: the rows selected stay selected (by cluster and source),
        so Ctrl+C copies them."""
        kept = {(self._rows[s].cluster, self._rows[s].source)
                for s in self.table.selected_sources()}  # fmt: skip
        self._rows = list(rows)
        warn = self._theme.severity("warning")
        bad = self._theme.severity("critical")
        shown = []
        for r in rows:
            latency = "—" if r.latency_ms is None else f"{r.latency_ms:.0f} ms"
            cells = [r.cluster, r.source, r.last_success, r.age, latency, str(r.errors),
                     str(r.consecutive), r.breaker, r.last_error]  # fmt: skip
            colours = {6: bad, 8: bad} if r.consecutive else {3: warn} if r.stale else None
            shown.append(Row(cells, colours=colours))
        keep_selection(self.table, shown,
                       lambda s: (self._rows[s].cluster, self._rows[s].source) in kept)  # fmt: skip
