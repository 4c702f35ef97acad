"""The anomalies view: every stored anomaly, filtered by cluster, severity and type; a double
click jumps to the cluster's chart of that panel around that time."""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from aiops_desktop.models.anomalies import Anomaly
from aiops_desktop.models.enums import AnomalySeverity, AnomalyType, FindingSeverity
from aiops_desktop.models.text import labels_text, time_text
from ui.theme import Theme
from ui.views.rows_table import Row
from ui.views.tables import make_table
from ui.views.text import PlainLabel, cell_line

ALL = "All"


class AnomaliesView(QWidget):
    """Signals: sig_filter_changed(cluster|None, FindingSeverity|None, type|None);
    sig_open(cluster, panel, epoch seconds)."""

    sig_filter_changed = Signal(object, object, object)
    sig_open = Signal(str, str, float)
    sig_analyse = Signal(str, float)  # cluster, epoch s: what changed there then
    sig_logs = Signal(str, dict, float, bool)  # cluster, the series' labels, epoch s, errors
    HEADERS = ("Time", "Cluster", "Severity", "Type", "Panel", "Series", "Method", "Why")

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self._rows: list[Anomaly] = []
        self._shown: list[Row] = []  # the table's rows as last set
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.title = PlainLabel("Anomalies")
        self.title.setProperty("role", "title")
        bar.addWidget(self.title, 1)
        self.cluster = QComboBox()
        self.cluster.addItem(ALL)
        self.severity = QComboBox()
        self.severity.addItems([ALL, *(s.value for s in FindingSeverity)])
        self.kind = QComboBox()
        self.kind.addItems([ALL, *(t.value for t in AnomalyType)])
        for label, combo in (
            ("Cluster", self.cluster),
            ("Severity", self.severity),
            ("Type", self.kind),
        ):
            bar.addWidget(PlainLabel(label))
            bar.addWidget(combo)
            combo.currentTextChanged.connect(self._on_filter_changed)
        self.rca_button = QPushButton("Analyse root cause")
        self.rca_button.setEnabled(False)
        self.rca_button.clicked.connect(self._on_analyse)
        bar.addWidget(self.rca_button)
        self.logs_button = QPushButton("Logs")
        self.logs_button.setToolTip("The logs of the anomaly's pod (or namespace) around it")
        self.logs_button.setEnabled(False)
        self.logs_button.clicked.connect(self._on_logs)
        bar.addWidget(self.logs_button)
        layout.addLayout(bar)
        self.error = PlainLabel()
        self.error.setStyleSheet(f"color: {theme.severity('critical')};")
        self.error.hide()
        layout.addWidget(self.error)
        self.table = make_table(list(self.HEADERS))
        self.table.empty_text = "No anomaly found"
        self.table.cellDoubleClicked.connect(self._on_double_clicked)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        layout.addWidget(self.table, 1)

    def set_clusters(self, names: list[str]) -> None:
        current = self.cluster.currentText()
        self.cluster.blockSignals(True)
        self.cluster.clear()
        self.cluster.addItems([ALL, *names])
        self.cluster.setCurrentText(current if current in names else ALL)
        self.cluster.blockSignals(False)
        if self.cluster.currentText() != current:  # the cluster chosen left the fleet: the
            self._on_filter_changed(ALL)  # rows are filtered as the box says (All), not by it

    def show_error(self, text: str) -> None:
        """A failed read keeps the rows shown before, with the reason above them; what live
        detection does not judge is said there too ("": nothing to say)."""
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def show_rows(
        self, anomalies: list[Anomaly], counts: dict[AnomalySeverity, int] | None = None
    ) -> None:
        """The presenter's rows, every few seconds: the same ones leave the table as it is;
        others keep the selected anomaly (by its identity) selected where it now is.
        ``counts``: how many the store holds of each severity for the filter (None: the rows
        are all there is): the title counts those, and says how many are not listed."""
        self.error.hide()
        keep = self._selected()
        self._rows = list(anomalies)
        rows = []
        for a in anomalies:
            # a label value is outside text: a newline forged a row, a bidi override read
            # backwards, a 200 KB value was measured whole into a column a million px wide
            series = cell_line(labels_text(a.labels))
            level = a.severity.level
            # the CLI's analyse stores the whole PromQL query it was given as the metric
            cells = [time_text(a.timestamp, seconds=True), a.cluster, level.value, a.type.value,
                     cell_line(a.metric), series, a.method.value, a.described]  # fmt: skip
            colour = self._theme.severity(level.value)
            # sorted by how severe (CRITICAL first), not by the word (INFO before WARNING)
            rows.append(Row(cells, colours={2: colour}, tips=dict.fromkeys(range(8), a.described),
                            keys={2: a.severity.rank}))  # fmt: skip
        if rows != self._shown:  # a reset drops the selection: only when something changed
            self._shown = rows
            self.table.set_rows(rows)
            self._reselect(keep)
        if counts is None:
            counts = Counter(a.severity for a in anomalies)
        levels: Counter[FindingSeverity] = Counter()
        for grade, count in counts.items():
            levels[grade.level] += count
        total, shown = sum(counts.values()), len(anomalies)
        # read apart, the counts may be a new finding behind the rows: never "-1 not shown"
        held = f" of {total:,} ({total - shown:,} not shown)" if total > shown else ""
        self.title.setText(
            f"Anomalies · {shown:,} shown{held}, {levels[FindingSeverity.CRITICAL]:,} CRITICAL,"
            f" {levels[FindingSeverity.WARNING]:,} WARNING"
        )

    def _on_filter_changed(self, _text: str) -> None:
        def pick(combo: QComboBox) -> str | None:
            return None if combo.currentText() == ALL else combo.currentText()

        severity, kind = pick(self.severity), pick(self.kind)
        self.sig_filter_changed.emit(
            pick(self.cluster),
            FindingSeverity(severity) if severity else None,
            AnomalyType(kind) if kind else None,
        )

    def _selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self._rows[self.table.source_row(rows[0].row())].identity if rows else None

    def _reselect(self, identity: str | None) -> None:
        """Select the anomaly ``identity`` again after a reset (gone: none), and the buttons
        follow (a reset clears the selection without saying so)."""
        if identity is not None:
            self.table.select_source(lambda row: self._rows[row].identity == identity)
        self._on_selection_changed()

    def _on_selection_changed(self) -> None:
        chosen = bool(self.table.selectionModel().selectedRows())
        self.rca_button.setEnabled(chosen)
        self.logs_button.setEnabled(chosen)

    def _on_logs(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            a = self._rows[self.table.source_row(rows[0].row())]
            self.sig_logs.emit(a.cluster, dict(a.labels), a.timestamp.timestamp(), False)

    def _on_analyse(self) -> None:
        """The root cause of what changed on the selected anomaly's cluster, its window ending
        five minutes after the anomaly's worst point."""
        rows = self.table.selectionModel().selectedRows()
        if rows:
            a = self._rows[self.table.source_row(rows[0].row())]
            self.sig_analyse.emit(a.cluster, (a.started_at or a.timestamp).timestamp())

    def _on_double_clicked(self, row: int, _col: int) -> None:
        a = self._rows[self.table.source_row(row)]
        self.sig_open.emit(a.cluster, a.metric, a.timestamp.timestamp())
