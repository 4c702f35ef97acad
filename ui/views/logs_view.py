"""The log explorer: a LogQL editor that completes label names and values, the page's time
range, the volume of matching lines over it (a histogram), the lines with their level
coloured, a filter as you type, and the live tail with pause. A line that names a trace
opens it (double click). A metric query's answer (``sum by (level) (count_over_time(...))``)
is its series: a table of them in place of the lines.

Signals: sig_run(LogRequest), sig_tail(LogRequest | None: stop), sig_pause(bool),
sig_complete(cluster, label | None, tenant | None), sig_open_trace(cluster, trace id)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from time import monotonic

import pyqtgraph as pg
from PySide6.QtCore import QSortFilterProxyModel, QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QLineEdit,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models.metrics import value_text
from aiops_desktop.models.observability import (
    LogEntry,
    LogSeries,
    line_level,
    quoted,
    trace_id_in,
)
from aiops_desktop.models.text import (
    count,
    cut_line,
    labels_text,
    one_line,
    printable,
    time_text,
)
from ui.presenters.logs_traces import MOST_SHOWN, LogRequest, TailState
from ui.theme import Theme
from ui.views.combos import choose, refill
from ui.views.rows_table import Row
from ui.views.tables import make_table
from ui.views.text import PlainLabel, tip
from ui.views.time_range import TimeRangeBar

TENANTS = ("application", "infrastructure", "audit")
#: the Tenant combo's first choice: none sent, so the endpoint's own is asked (the one in its
#: URL, .../api/logs/v1/infrastructure), as label completion and the CLI ask it
ENDPOINTS_TENANT = "endpoint's"
_VALUE_AT_CURSOR = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=|!=|=~|!~)\s*"([^"]*)$')
#: what a regular expression (RE2, Loki's) reads as other than itself: escaped in a value
#: completed after =~ or !~, so the value chosen is matched as it is
_REGEX_META = re.compile(r"([\\.+*?()|\[\]{}^$])")
_NAME_AT_CURSOR = re.compile(r"[{,]\s*([A-Za-z_][A-Za-z0-9_]*)?$")
_LEVEL_COLOURS = {"error": "critical", "warn": "warning"}
BUILD_CHUNK = 500  # rows built per turn of the loop (about 6 ms)
#: the live tail keeps its newest lines (fewer than a query's: the table is redrawn 4 times a
#: second; Pause holds them for reading)
TAIL_KEPT = 2000
#: a label's completions are asked again after this (a namespace made since is offered)
LABEL_CACHE_S = 60.0
#: what a completion answers: (cluster, tenant, label: None for the names)
_LabelKey = tuple[str, str | None, str | None]
#: a pod's (or service's) name as its cell shows it: a label value from outside, cut before
#: it is drawn and measured (a Kubernetes name is 253 characters at most)
POD_CHARS = 300


class LogsView(QWidget):
    sig_run = Signal(object)
    sig_tail = Signal(object)
    sig_pause = Signal(bool)
    sig_complete = Signal(str, object, object)
    sig_open_trace = Signal(str, str)
    HEADERS = ("Time", "Pod", "Level", "Line")

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self._entries: list[LogEntry] = []
        self._rows: list[Row] = []  # one per entry, built once
        self._seconds: dict[int, str] = {}  # second -> its time text (lines come in bursts)
        self._generation = 0  # a newer answer stops the building of an older one
        self._querying = False  # a query was run and neither its answer nor failure came
        # (cluster, tenant: None for the endpoint's, label: None for the names) -> (when
        # answered, its names or values, what the editor says of a cut answer)
        self._label_cache: dict[_LabelKey, tuple[float, list[str], str]] = {}
        self._asked: str | None = None  # the label whose values were asked (None: names)
        self._offered: list[str] | None = None  # the answer the completer's model holds
        self._asked_regex = False  # ... after =~ or !~ (a value is completed as a regexp)
        layout = QVBoxLayout(self)
        layout.addLayout(self._top_bar())
        layout.addLayout(self._query_bar())
        self._results(layout)

    def _top_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        self.title = PlainLabel("Logs")
        self.title.setProperty("role", "title")
        bar.addWidget(self.title, 1)
        self.cluster = QComboBox()
        self.cluster.setToolTip("The cluster whose Loki is asked")
        self.tenant = QComboBox()
        self.tenant.addItem(ENDPOINTS_TENANT, None)
        for tenant in TENANTS:
            self.tenant.addItem(tenant, tenant)
        self.tenant.setToolTip("The LokiStack tenant: the endpoint's (the one its URL names, "
                               "else application) unless another is picked; a plain Loki "
                               "has one")  # fmt: skip
        self.time_range = TimeRangeBar("1 h")
        for widget in (PlainLabel("Cluster"), self.cluster, PlainLabel("Tenant"), self.tenant,
                       self.time_range):  # fmt: skip
            bar.addWidget(widget)
        return bar

    def _query_bar(self) -> QHBoxLayout:
        query = QHBoxLayout()
        self.editor = QLineEdit('{k8s_namespace_name=""}')
        self.editor.setFont(QFont("DejaVu Sans Mono"))
        self.editor.setPlaceholderText('LogQL, e.g. {k8s_namespace_name="shop"} |= "error"')
        self.editor.returnPressed.connect(self._on_run)
        self.completions = QStringListModel(self)
        # the completer looks a prefix up in a sorted model (a binary search), not a scan of
        # every value per keystroke: what Loki gives is kept as given, and sorted here, in
        # Qt's own case-insensitive order, the one the completer's lookup assumes
        self._sorted = QSortFilterProxyModel(self)
        self._sorted.setSourceModel(self.completions)
        self._sorted.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._sorted.sort(0)
        self.completer = QCompleter(self._sorted, self)
        self.completer.setWidget(self.editor)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setModelSorting(QCompleter.ModelSorting.CaseInsensitivelySortedModel)
        popup = self.completer.popup()  # a QListView: its rows laid out by one row's height
        if isinstance(popup, QListView):  # (each measured, 10,000 took 0.6 s a show)
            popup.setUniformItemSizes(True)
        self.completer.activated.connect(self._insert_completion)
        self.editor.textEdited.connect(self._on_edited)
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self._on_run)
        self.tail_button = QPushButton("Live tail")
        self.tail_button.setCheckable(True)
        self.tail_button.toggled.connect(self._on_tail)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setEnabled(False)
        self.pause_button.toggled.connect(self.sig_pause)
        # why the editor offers no completion (its read failed): a quiet note by it, not the
        # page's error (a completion is a help to typing; the page's error is the query's)
        self.completion_note = PlainLabel()
        self.completion_note.setProperty("role", "warning")
        self.completion_note.hide()
        for widget in (self.editor, self.completion_note, self.run_button, self.tail_button,
                       self.pause_button):  # fmt: skip
            query.addWidget(widget, 1 if widget is self.editor else 0)
        return query

    def _results(self, layout: QVBoxLayout) -> None:
        theme = self._theme
        self.volume = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(utcOffset=0)})
        self.volume.setBackground(theme.color("window"))
        self.volume.setFixedHeight(130)
        self.volume.setMouseEnabled(x=False, y=False)
        self.volume.hideButtons()
        self.volume.getPlotItem().setLabel("left", "lines")
        self._bars: pg.BarGraphItem | None = None
        layout.addWidget(self.volume)
        self.status = PlainLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.error = PlainLabel()
        self.error.setProperty("role", "error")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter the lines shown (as you type)")
        self.filter.textChanged.connect(self._on_filter)
        layout.addWidget(self.filter)
        self.table = make_table(list(self.HEADERS))
        self.table.empty_text = "No line matched"
        self.table.empty_says_when = False
        self.table.cellDoubleClicked.connect(self._on_double_clicked)
        layout.addWidget(self.table, 1)
        self.series_table = make_table(["Series", "Latest", "Peak", "Points"])
        self.series_table.empty_text = "No series"
        self.series_table.empty_says_when = False
        self.series_table.hide()
        layout.addWidget(self.series_table, 1)

    def _on_filter(self, text: str) -> None:
        self.table.rows_model.set_needle(text)

    # -- what the presenter says ---------------------------------------------------------------
    def set_clusters(self, names: list[str]) -> None:
        refill(self.cluster, names)

    def request(self) -> LogRequest:
        return LogRequest(self.cluster.currentText(), self.editor.text().strip(),
                          self.time_range.current, self.tenant.currentData())  # fmt: skip

    def show_query(self, cluster: str, logql: str, start: datetime, end: datetime) -> None:
        """A jump from elsewhere (an anomaly, an incident, a pod): its query and window."""
        choose(self.cluster, cluster)
        self.editor.setText(logql)
        self.time_range.show_span(start, end)
        self._on_run()

    def show_lines(
        self, entries: list[LogEntry], truncated: bool, series: list[LogSeries] | None = None
    ) -> None:
        """A query's lines: their rows built a chunk per turn of the loop (the first at once),
        so thousands of lines never stall the window; a metric query's ``series`` in a table
        of their own."""
        self._querying = False
        self.error.hide()
        self._show_series_table(bool(series))
        if series:
            self._show_series(series)
            return
        self._entries = entries[:MOST_SHOWN]
        self._rows = []
        self._generation += 1
        self._build_more(self._generation)
        more = " (more matched: narrow the query or the range)" if truncated else ""
        self.status.setText(f"{count(len(self._entries), 'line')} shown{more}")

    def _show_series(self, series: list[LogSeries]) -> None:
        """Each series' latest value, its peak and how many points it has; the lines' table
        is emptied (a query's answer is lines or series, never both)."""
        self._generation += 1  # an older answer's lines still being built stop
        self._entries, self._rows = [], []
        self.table.set_rows([])
        rows = []
        for one in series[:MOST_SHOWN]:
            latest = max(one.points, default=None)  # the newest point (points are (t, value))
            values = [v for _, v in one.points]
            rows.append(Row([one_line(labels_text(one.labels)),
                             value_text(latest[1]) if latest else "—",
                             value_text(max(values)) if values else "—", f"{len(values):,}"],
                            keys={1: latest[1] if latest else 0.0,
                                  2: max(values, default=0.0), 3: len(values)}))  # fmt: skip
        self.series_table.set_rows(rows)
        left_out = len(series) - len(rows)
        more = f" ({left_out:,} more not shown)" if left_out > 0 else ""
        self.status.setText(f"{count(len(series), 'series', 'series')} (a metric query){more}")

    def _show_series_table(self, series: bool) -> None:
        """The series' table in place of the lines' (and their filter), or back."""
        self.series_table.setVisible(series)
        self.table.setVisible(not series)
        self.filter.setVisible(not series)

    def show_volume(self, step: int, points: list[tuple[float, float]]) -> None:
        plot = self.volume.getPlotItem()
        if self._bars is not None:
            plot.removeItem(self._bars)
            self._bars = None
        if not points:
            return
        xs = [t - step / 2 for t, _ in points]  # each bar counts the step before its time
        brush = QColor(self._theme.color("accent"))
        heights = [v for _, v in points]
        self._bars = pg.BarGraphItem(x=xs, height=heights, width=step * 0.9, brush=brush, pen=None)
        plot.addItem(self._bars)
        plot.enableAutoRange()

    def show_labels(  # noqa: PLR0917 (a slot: sig_labels gives its arguments in order)
        self, cluster: str, label: str | None, values: list[str], failed: str = "",
        answered: int = 0, tenant: str | None = None,
    ) -> None:  # fmt: skip
        """The label names (``label`` None) or one label's values on ``cluster``'s
        ``tenant`` (None: the endpoint's): filed under what they answer, offered only if
        that is what the editor completes now (an answer can land after the cursor moved on
        to another label, or the page to another cluster or tenant). ``failed``: why none
        could be read, said by the editor (not filed: the next keystroke asks again).
        ``answered``: how many Loki answered; more than ``values`` (it was cut), the editor
        says which are offered."""
        key = (cluster, tenant, label)
        if failed:
            if key == self._completing():
                self._note_completion(failed)
            return
        now = monotonic()
        for old in [k for k, (at, *_) in self._label_cache.items() if now - at > LABEL_CACHE_S]:
            del self._label_cache[old]  # the expired go: the cache is not grown for a day
        cut = _cut_note(label, len(values), answered)
        self._label_cache[key] = (now, values, cut)
        if key == self._completing():
            self._offer(values, cut)

    def _completing(self) -> _LabelKey:
        """What the editor completes now: (cluster, tenant, label), as answers are filed."""
        return self.cluster.currentText(), self.tenant.currentData(), self._asked

    def show_tail_lines(self, entries: list[LogEntry]) -> None:
        """New lines on top (the newest TAIL_KEPT kept): only their rows are built."""
        newest_first = sorted(entries, key=lambda e: e.timestamp_ns, reverse=True)
        self._generation += 1
        self._entries = (newest_first + self._entries)[:TAIL_KEPT]
        self._rows = ([self._row(e) for e in newest_first] + self._rows)[:TAIL_KEPT]
        self.table.set_rows(self._rows)

    def show_tail_state(self, state: TailState) -> None:
        parts = [f"live: {count(state.shown, 'line')} shown"]
        if state.paused:
            parts.append("paused")
        if state.skipped:
            parts.append(f"{state.skipped:,} not shown (paused or over the rate cap)")
        if state.dropped:
            parts.append(f"{state.dropped:,} dropped by the server")
        if state.note:
            parts.append(one_line(state.note))  # a server's line breaks forge no lines
        self.status.setText(" · ".join(parts))
        if state.ended and self.tail_button.isChecked():
            self.tail_button.setChecked(False)  # it failed (the page's error says why)

    def show_error(self, text: str) -> None:
        """The page's error (the query's, the tail's): it does not stop the tail (the tail's
        own failure does, through its state). Said while a query runs, the query failed:
        the status says so over the emptied table (what a query that answered says, after
        its lines, leaves them)."""
        self.error.setText(text)
        self.error.setVisible(bool(text))
        if text and self._querying:
            self._querying = False
            self.status.setText("no lines: the query failed")

    def _clear_answer(self) -> None:
        """A query is run: the previous one's lines, series, count and volume go (left, they
        stood under the new query, and stayed there if it failed)."""
        self._querying = True
        self._generation += 1  # an older answer's lines still being built stop
        self._entries, self._rows = [], []
        self.table.set_rows([])
        self.series_table.set_rows([])
        self.show_volume(0, [])
        self.status.setText("reading …")

    # -- the table ------------------------------------------------------------------------------
    def _row(self, e: LogEntry) -> Row:
        level = line_level(e.line)
        colour = _LEVEL_COLOURS.get(level or "")
        second = e.timestamp_ns // 1_000_000_000
        when = self._seconds.get(second)
        if when is None:
            if len(self._seconds) > 4 * MOST_SHOWN:
                self._seconds.clear()
            when = self._seconds[second] = time_text(datetime.fromtimestamp(second, UTC),
                                                     seconds=True)  # fmt: skip
        where = e.labels.get("k8s_pod_name") or e.labels.get("service_name") or ""
        return Row([when, cut_line(where, POD_CHARS), level or "", printable(e.line)],
                   colour=self._theme.severity(colour) if colour else None,
                   tips={3: e.line[:2000]})  # fmt: skip

    def _build_more(self, generation: int) -> None:
        if generation != self._generation:
            return  # a newer answer (or the tail) took the table
        start = len(self._rows)
        self._rows += [self._row(e) for e in self._entries[start : start + BUILD_CHUNK]]
        done = len(self._rows) >= len(self._entries)
        if start == 0 or done:  # the first chunk at once, then the whole
            self.table.set_rows(self._rows)
        if not done:
            QTimer.singleShot(0, self, lambda: self._build_more(generation))

    def _on_double_clicked(self, row: int, _col: int) -> None:
        entry = self._entries[self.table.source_row(row)]
        trace_id = trace_id_in(entry.line, entry.labels)
        if trace_id:
            self.sig_open_trace.emit(entry.cluster, trace_id)

    # -- the editor -----------------------------------------------------------------------------
    def _on_run(self) -> None:
        if self.tail_button.isChecked():
            self.tail_button.setChecked(False)
        request = self.request()
        if request.cluster and request.logql:
            self._clear_answer()
            self.sig_run.emit(request)

    def _on_tail(self, on: bool) -> None:
        self.pause_button.setEnabled(on)
        self.pause_button.setChecked(False)
        self.tail_button.setText("Stop tail" if on else "Live tail")
        if on:
            self._querying = False  # a query running is stopped for the tail
            self._show_series_table(False)
            self._generation += 1
            self._entries, self._rows = [], []
            self.table.set_rows([])
        self.sig_tail.emit(self.request() if on else None)

    def _on_edited(self, text: str) -> None:
        before = text[: self.editor.cursorPosition()]
        value = _VALUE_AT_CURSOR.search(before)
        name = None if value else _NAME_AT_CURSOR.search(before)
        if value is None and name is None:
            return
        label = value.group(1) if value else None
        self.completer.setCompletionPrefix(value.group(3) if value else (name.group(1) or ""))  # type: ignore[union-attr]
        self._asked = label
        self._asked_regex = value is not None and value.group(2) in ("=~", "!~")
        cluster, tenant, _ = key = self._completing()
        cached = self._label_cache.get(key)
        if cached is not None and monotonic() - cached[0] <= LABEL_CACHE_S:
            self._offer(cached[1], cached[2])
        elif cluster:
            self.sig_complete.emit(cluster, label, tenant)

    def _note_completion(self, text: str) -> None:
        """A short note by the editor (its whole text in its tooltip); "" hides it."""
        line = one_line(text)
        self.completion_note.setText(line if len(line) <= 80 else line[:79] + "…")
        self.completion_note.setToolTip(tip(text))
        self.completion_note.setVisible(bool(line))

    def _offer(self, values: list[str], cut: str = "") -> None:
        """``values`` offered; ``cut``: which they are of a cut answer, said by the editor
        ("" hides the note: what is offered is the whole answer)."""
        self._note_completion(cut)
        if values is not self._offered:  # a filed answer is offered again per keystroke:
            # set anew, its model is sorted anew (most of a second at 100,000 values)
            self.completions.setStringList(values)
            self._offered = values
        if self.editor.hasFocus():
            self.completer.complete()

    def _insert_completion(self, chosen: str) -> None:
        """The name or value chosen, in place of what was typed of it: a value (it comes
        from the cluster's Loki) goes in quoted, so a quote in it cannot end the string and
        add a matcher of its own; after =~ or !~ it is matched as it is, not as a regexp."""
        text, at = self.editor.text(), self.editor.cursorPosition()
        prefix = self.completer.completionPrefix()
        head = text[: at - len(prefix)]
        tail = text[at:]
        if self._asked is not None:
            chosen = quoted(_REGEX_META.sub(r"\\\1", chosen) if self._asked_regex else chosen)
        elif not tail.lstrip().startswith(("=", "!")):
            chosen += '="'
        self.editor.setText(head + chosen + tail)
        self.editor.setCursorPosition(len(head + chosen))


def _cut_note(label: str | None, offered: int, answered: int) -> str:
    """What the editor says of an answer cut to ``offered`` of ``answered`` ("" if whole):
    the values past the cut cannot be completed (typed, they are still matched)."""
    if answered <= offered:
        return ""
    what = "label names" if label is None else "values"
    return f"the first {offered:,} of {answered:,} {what} are offered"
