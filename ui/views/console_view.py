"""The PromQL console: one query over chosen clusters, as a chart and a table, with history
and saved queries."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models import Aggregation, QueryType
from aiops_desktop.models.curves import MOST_CURVES, outlying_curves
from aiops_desktop.models.metrics import ConsoleRequest, ConsoleResult, QueryRecord
from aiops_desktop.models.text import cut_line, one_line, time_text
from ui.charts import NO_DATA, NOT_READ, TimeSeriesChart
from ui.presenters.console import MOST_ROWS, ShownResult, table_rows
from ui.theme import Theme
from ui.views.rows_table import TIP_LINES, tip_lines
from ui.views.tables import make_table
from ui.views.text import PlainLabel, rich_label, tip

MODES = {"Instant": None, "Range 15 min": 900, "Range 1 h": 3600, "Range 6 h": 21600}
STEPS = {900: 15, 3600: 30, 21600: 120}
#: the failures, warnings and notes the status line says each on a line of its own, and the
#: most of each line's text there; past them it counts the rest, and its tooltip lists all
#: (30 unreachable clusters, a line each, left the results 101 px of 680)
SAID_MOST = 2
SAID_CHARS = 100
#: the clusters the status line names among those it only counts
NAMED_MOST = 3
#: its tooltip's entries at most, fitted to a table's tooltip's TIP_CHARS (``tip_lines``: 100
#: entries of 600 characters made a tip 9,600 px tall, 361 ms to show); each says its
#: cluster, cut to NAMED_CHARS, and why it failed
TIP_MOST = TIP_LINES // 2
NAMED_CHARS = 40
#: the most of a saved query's name, and of a query's PromQL and clusters, the History and
#: Saved lists show (an opened capture's may be any text, never kept by the console's rule)
SAVED_NAME_SHOWN = 80
QUERY_SHOWN = 300


def _range_mode(range_s: int) -> str:
    """A range's mode entry as the menu writes its own: "Range 2 h", "Range 90 min"."""
    for unit, seconds in (("d", 86400), ("h", 3600), ("min", 60)):
        if range_s % seconds == 0:
            return f"Range {range_s // seconds} {unit}"
    return f"Range {range_s} s"


class ConsoleView(QWidget):
    """Signals: sig_run(ConsoleRequest)."""

    sig_run = Signal(object)
    sig_save = Signal(str, object)  # the name, the ConsoleRequest

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self._history: list[QueryRecord] = []
        #: what the status line last said of a history entry (its clusters that are gone)
        self._gone_note = ""
        #: the mode menu's ranges: MODES, and any a history entry ran over that it lacks
        self._modes: dict[str, int | None] = dict(MODES)
        #: the step a history entry ran at, kept until another mode is chosen
        self._step_s: int | None = None
        self._setup_ui()

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        top = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        form = QVBoxLayout(left)
        form.setContentsMargins(0, 0, 0, 0)
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText(
            "PromQL, e.g. sum by (cluster) (rate(apiserver_request_total[5m]))"
        )
        self.editor.setFixedHeight(70)
        form.addWidget(self.editor)
        bar = QHBoxLayout()
        self.mode = QComboBox()
        self.mode.addItems(list(MODES))
        self.mode.currentTextChanged.connect(self._on_mode_changed)
        self.aggregation = QComboBox()
        self.aggregation.addItems([a.value for a in Aggregation])
        self.run_button = QPushButton("Run")
        self.run_button.setProperty("primary", True)
        self.run_button.clicked.connect(self._on_run_clicked)
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("Keep this query, its clusters, range and aggregation by name")
        self.save_button.clicked.connect(self._on_save_clicked)
        for widget in (
            PlainLabel("Mode"),
            self.mode,
            PlainLabel("Across clusters"),
            self.aggregation,
        ):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(self.save_button)
        bar.addWidget(self.run_button)
        form.addLayout(bar)
        self.status = rich_label()  # the app's markup; the servers' words in it are escaped
        self.status.setWordWrap(True)
        form.addWidget(self.status)
        top.addWidget(left)
        self.clusters = QListWidget()
        self.clusters.setMaximumWidth(220)
        top.addWidget(self.clusters)
        layout.addWidget(top)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        self.results = QTabWidget()
        self.chart = TimeSeriesChart("", "", self._theme)
        self.table = make_table(["Cluster", "Series", "Last value", "Points"])
        self.results.addTab(self.chart, "Chart")
        self.results.addTab(self.table, "Table")
        bottom.addWidget(self.results)
        bottom.addWidget(self._setup_lists())
        layout.addWidget(bottom, 1)

    def _setup_lists(self) -> QTabWidget:
        """The history and the saved queries, a tab each."""
        self.lists = QTabWidget()
        self.lists.setMaximumWidth(320)
        self.history = QListWidget()
        self.history.itemDoubleClicked.connect(self._on_history_double_clicked)
        self.saved = QListWidget()
        self.saved.itemDoubleClicked.connect(self._on_saved_double_clicked)
        self._saved: list[QueryRecord] = []
        self.lists.addTab(self.history, "History")
        self.lists.addTab(self.saved, "Saved")
        return self.lists

    def set_clusters(self, names: list[str]) -> None:
        checked = {self.clusters.item(i).text() for i in range(self.clusters.count())
                   if self.clusters.item(i).checkState() == Qt.CheckState.Checked}  # fmt: skip
        self.clusters.clear()
        for name in names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if not checked or name in checked else Qt.CheckState.Unchecked
            )
            self.clusters.addItem(item)

    def request(self) -> ConsoleRequest:
        chosen = [self.clusters.item(i).text() for i in range(self.clusters.count())
                  if self.clusters.item(i).checkState() == Qt.CheckState.Checked]  # fmt: skip
        range_s = self._modes[self.mode.currentText()]
        return ConsoleRequest(
            promql=self.editor.toPlainText().strip(),
            clusters=chosen,
            range_s=range_s,
            step_s=self._step_s or STEPS.get(range_s or 0, 60),
            aggregation=Aggregation(self.aggregation.currentText()),
        )

    def _on_mode_changed(self, _mode: str) -> None:
        """Another mode chosen: its own step, not the one a history entry ran at."""
        self._step_s = None

    def _say(self, text: str, everything: str = "") -> None:
        """The status line says ``text`` (the app's markup); its tooltip, ``everything``."""
        self.status.setText(text)
        self.status.setToolTip(tip(everything))

    def _on_run_clicked(self) -> None:
        request = self.request()
        if not request.promql:
            self._say("Type a PromQL query first.")
            return
        if not request.clusters:
            self._say("Choose at least one cluster.")
            return
        self.sig_run.emit(request)

    def set_busy(self, busy: bool) -> None:
        self.run_button.setEnabled(not busy)
        if busy:
            self._say("Running…")

    def show_result(self, result: ConsoleResult) -> None:
        """The answer: at most MOST_ROWS rows (the first) and MOST_CURVES curves (those furthest
        from the rest), and how many of the series those are; each failure (or note: no
        cluster) on a line. The rows and curves were worked out off the UI thread (the
        presenter's ``ShownResult``), or are here for a result given as it is. Past SAID_MOST
        failures the status line counts the rest and its tooltip lists them all
        (``_failure_lines``)."""
        colour = {
            "SUCCESS": self._theme.status("ONLINE"),
            "PARTIAL": self._theme.severity("warning"),
            "ERROR": self._theme.severity("critical"),
        }[result.status]
        total = len(result.rows)
        lines = [f"<b style='color:{colour}'>{result.status}</b> · {total:,} series · "
                 f"{result.duration_ms:.0f} ms"]  # fmt: skip
        left_out = []
        if total > MOST_ROWS:
            left_out.append(f"{MOST_ROWS:,} of {total:,} series in the table")
        if not result.instant and len(result.series) > MOST_CURVES:
            left_out.append(f"{MOST_CURVES:,} of {len(result.series):,} on the chart")
        if left_out:
            lines.append("Showing " + ", ".join(left_out) + ": narrow the query to see the rest.")
        said, everything = self._failure_lines(result.failures, colour)
        self._say("<br>".join(lines + said), everything)
        if isinstance(result, ShownResult):
            rows, curves = result.table, result.curves
        else:
            rows = table_rows(result.rows)
            curves = {} if result.instant else outlying_curves(result.series)
        self.table.set_rows(rows)
        # no cluster answered: nothing was read, which is no "No data in this range"
        self.chart.set_series(curves, empty_text=NOT_READ if result.status == "ERROR" else NO_DATA)
        self.results.setCurrentWidget(self.table if result.instant else self.chart)

    def _failure_lines(self, failures: list[tuple[str, str]], colour: str) -> tuple[list[str], str]:
        """The status line's lines of ``failures`` (cluster, why; a note has no cluster), and
        the text of every one of them whole (the tooltip). The notes come first (a coarser
        step: of the whole query); SAID_MOST are said, each cut to SAID_CHARS, and the rest
        counted, the first of their clusters named."""
        ordered = sorted(failures, key=lambda failure: bool(failure[0]))  # notes first
        texts = [f"{cut_line(cluster, NAMED_CHARS)}: {why}" if cluster else why
                 for cluster, why in ordered]  # fmt: skip
        noted = self._theme.severity("warning")
        lines = [  # a server's words: text, never markup
            f"<span style='color:{colour if cluster else noted}'>"
            f"{html.escape(cut_line(text, SAID_CHARS))}</span>"
            for (cluster, _), text in zip(ordered[:SAID_MOST], texts, strict=False)
        ]
        rest = ordered[SAID_MOST:]
        if rest:
            names = list(dict.fromkeys(cluster for cluster, _ in rest if cluster))
            named = ", ".join(cut_line(name, NAMED_CHARS) for name in names[:NAMED_MOST])
            named += "…" if len(names) > NAMED_MOST else ""
            lines.append(html.escape(f"… and {len(rest):,} more" + (f" ({named})" if named else "")
                                     + ": hover here for the list"))  # fmt: skip
        # the tooltip bounded (a thousand failures, 517,000 characters, held the UI thread
        # 0.76 s a hover): TIP_MOST of them, the longest cut alike to fit TIP_CHARS (a few
        # are whole), each reason kept (its cluster's name cut first)
        listed = [one_line(text) for text in texts[:TIP_MOST]]
        more = len(texts) - len(listed)
        return lines, tip_lines(listed + ([f"… and {more:,} more"] if more > 0 else []))

    def show_error(self, message: str) -> None:
        self._say(
            f"<span style='color:{self._theme.severity('critical')}'>{html.escape(message)}</span>"
        )

    def show_history(self, records: list[QueryRecord]) -> None:
        self._history = records
        self.history.clear()
        for rec in records:  # each one cut line: it may be an opened capture's, any text
            where = cut_line(", ".join(rec.clusters), QUERY_SHOWN) or "all clusters"
            status, promql = cut_line(rec.status, 12), cut_line(rec.promql, QUERY_SHOWN)
            when = cut_line(time_text(rec.run_at, seconds=True), NAMED_CHARS)
            item = QListWidgetItem(f"{status:<8} {promql}\n   {where} · {when}")
            self.history.addItem(item)

    def show_saved(self, records: list[QueryRecord]) -> None:
        """The saved queries, by name; a double click puts one back in the form."""
        self._saved = records
        self.saved.clear()
        for rec in records:  # each one cut line: it may be an opened capture's, any text
            name = cut_line(rec.name, SAVED_NAME_SHOWN)
            promql = cut_line(rec.promql, QUERY_SHOWN)
            where = cut_line(", ".join(rec.clusters), QUERY_SHOWN) or "all clusters"
            self.saved.addItem(QListWidgetItem(f"{name}\n   {promql}\n   {where}"))

    def _on_save_clicked(self) -> None:
        request = self.request()
        if not request.promql:
            self._say("Type a PromQL query first.")
            return
        name, ok = QInputDialog.getText(self, "Save query", "Name of the saved query:")
        if ok and name.strip():
            self.sig_save.emit(name.strip(), request)

    def _on_history_double_clicked(self, item: QListWidgetItem) -> None:
        self._load(self._history[self.history.row(item)])

    def _on_saved_double_clicked(self, item: QListWidgetItem) -> None:
        self._load(self._saved[self.saved.row(item)])

    def _load(self, rec: QueryRecord) -> None:
        """A history entry or a saved query back in the form, as it ran (or was saved)."""
        self.editor.setPlainText(rec.promql)
        self.mode.setCurrentText(self._mode_of(rec.range_s))
        self._step_s = rec.step_s if rec.range_s else None  # as it ran (the CLI's --step)
        self.aggregation.setCurrentText(rec.aggregation)
        # the clusters it ran on (none listed: every one), not whichever are checked now; one
        # no longer registered is said, not asked
        listed = set(rec.clusters)
        shown = {self.clusters.item(i).text() for i in range(self.clusters.count())}
        for i in range(self.clusters.count()):
            item = self.clusters.item(i)
            ticked = not listed or item.text() in listed
            item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
        gone = [name for name in rec.clusters if name not in shown]
        said = [f"Not registered any more, left out: {', '.join(gone)}"] if gone else []
        if rec.query_type.upper() == QueryType.RANGE and not rec.range_s:
            said.append("Recorded as a range query without its range: set as an instant query.")
        note = "<br>".join(html.escape(one) for one in said)
        if note or self.status.text() == self._gone_note:  # the last entry's note: not kept
            self._say(note)
        self._gone_note = note

    def _mode_of(self, range_s: int | None) -> str:
        """The mode menu's entry for ``range_s`` (None: Instant), added where it lacks one (the
        CLI's ``query --range 2h``, an ``analyse`` run's window ran again as an instant
        query)."""
        mode = next((k for k, v in self._modes.items() if v == range_s), None)
        if mode is None and range_s:
            mode = _range_mode(range_s)
            self._modes[mode] = range_s
            self.mode.addItem(mode)
        return mode or "Instant"
