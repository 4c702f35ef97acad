"""The alerts view (grouped) and the diagnostics view of the app's own polling."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models.alerts import AlertGroup
from aiops_desktop.models.enums import GroupBy
from aiops_desktop.models.polling import DiagnosticsRow
from ui.theme import Theme


def make_table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    table.horizontalHeader().setResizeContentsPrecision(200)  # columns sized on 200 rows
    return table


@contextmanager
def bulk(table: QTableWidget) -> Iterator[QTableWidget]:
    """Fill ``table`` in one go: its columns are sized to their contents once, when the fill
    is done, not after every cell (Qt re-measures every row of a ResizeToContents column per
    cell set: 5 s for 100 rows of 9 columns, a minute for 400; the UI froze)."""
    header = table.horizontalHeader()
    modes = [header.sectionResizeMode(i) for i in range(header.count())]
    table.setUpdatesEnabled(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    try:
        yield table
    finally:
        for i, mode in enumerate(modes):
            header.setSectionResizeMode(i, mode)
        table.setUpdatesEnabled(True)


def fill_table(
    table: QTableWidget,
    rows: list[tuple[list[str], str | None]],
    tips: list[dict[int, str]] | None = None,
) -> None:
    """Put ``rows`` (cells, colour of the row's text or None) into ``table``; ``tips``: per
    row, column -> that cell's tooltip."""
    with bulk(table):
        table.setRowCount(len(rows))
        for r, (cells, colour) in enumerate(rows):
            row_tips = tips[r] if tips else {}
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if colour:
                    item.setForeground(QColor(colour))
                if c in row_tips:
                    item.setToolTip(row_tips[c])
                table.setItem(r, c, item)


class AlertsView(QWidget):
    """Signals: sig_group_by_changed(GroupBy)."""

    sig_group_by_changed = Signal(object)
    HEADERS = ("Severity", "Count", "Group", "Clusters", "Namespaces", "Since", "Summary")

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.title = QLabel("Alerts")
        self.title.setProperty("role", "title")
        bar.addWidget(self.title, 1)
        bar.addWidget(QLabel("Group by"))
        self.group_by = QComboBox()
        self.group_by.addItems([g.value for g in GroupBy])
        self.group_by.currentTextChanged.connect(self._on_group_by_changed)
        bar.addWidget(self.group_by)
        layout.addLayout(bar)
        self.table = make_table(list(self.HEADERS))
        layout.addWidget(self.table, 1)

    def show_groups(self, groups: list[AlertGroup]) -> None:
        with bulk(self.table):
            self.table.setRowCount(len(groups))
            for row, group in enumerate(groups):
                clusters = group.clusters
                cells = [
                    group.severity.value,
                    str(len(group.alerts)),
                    group.key,
                    f"{len(clusters)}: {', '.join(clusters)}",
                    ", ".join(group.namespaces) or "—",
                    group.since.strftime("%Y-%m-%d %H:%M UTC"),
                    group.summary,
                ]
                for col, text in enumerate(cells):
                    item = QTableWidgetItem(text)
                    if col == 0:
                        item.setForeground(QColor(self._theme.severity(group.severity.value)))
                    self.table.setItem(row, col, item)
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
        title = QLabel("Polling diagnostics")
        title.setProperty("role", "title")
        layout.addWidget(title)
        self.table = make_table(list(self.HEADERS))
        layout.addWidget(self.table, 1)

    def show_rows(self, rows: list[DiagnosticsRow]) -> None:
        with bulk(self.table):
            self.table.setRowCount(len(rows))
            warn = QColor(self._theme.severity("warning"))
            bad = QColor(self._theme.severity("critical"))
            for row, r in enumerate(rows):
                latency = "—" if r.latency_ms is None else f"{r.latency_ms:.0f} ms"
                cells = [r.cluster, r.source, r.last_success, r.age, latency, str(r.errors),
                         str(r.consecutive), r.breaker, r.last_error]  # fmt: skip
                for col, text in enumerate(cells):
                    item = QTableWidgetItem(text)
                    if r.consecutive and col in (6, 8):
                        item.setForeground(bad)
                    elif r.stale and col == 3:
                        item.setForeground(warn)
                    self.table.setItem(row, col, item)
