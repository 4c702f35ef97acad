"""The trace view: a search (service, minimum duration, errors only, the page's range), its
traces, and the chosen trace as a span waterfall (errors marked ✖ and in the error colour,
a span's status and events in its tooltip) and as the graph of the services it calls.

Signals: sig_search(TraceRequest), sig_open(cluster, trace id)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFontMetrics,
    QHelpEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.observability import Span, Trace, TraceSummary, depth_first, service_calls
from aiops_desktop.models.text import count, cut, one_line, printable, time_text
from ui.charts import SERIES_COLOURS
from ui.presenters.logs_traces import TraceRequest
from ui.theme import Theme
from ui.views.combos import choose, refill
from ui.views.rows_table import Row, tip_lines
from ui.views.tables import make_table
from ui.views.text import PlainLabel
from ui.views.text import tip as escaped_tip
from ui.views.time_range import TimeRangeBar

ROW_H = 22
LABEL_W = 360
ERROR_MARK = "✖"
#: the services a service graph draws at most (those nearest the callers): more is no graph
#: one reads, and each costs a paint
MOST_DRAWN = 50
#: the characters of a service's name a graph's box shows: a longer one is cut (and ends in
#: "…") before it is measured, so a name of megabytes is neither measured nor drawn whole
NAME_CHARS = 60
CHOOSE_A_TRACE = "Choose a trace to see its spans"
NONE_FOUND = "No trace found"


def _ms(ns: float) -> str:
    return f"{ns / 1e6:,.1f} ms"


def _cut(name: str) -> str:
    return cut(name, NAME_CHARS)


class WaterfallView(QWidget):
    """One row per span, depth first: its service and operation at the left (indented by
    depth), a bar from its start for its duration on the trace's time scale."""

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self.rows: list[tuple[int, Span]] = []
        self._first = 0
        self._total = 1
        self._colours: dict[str, QColor] = {}
        self.setMouseTracking(True)

    def set_trace(self, trace: Trace | None) -> None:
        self.rows = depth_first(trace) if trace else []
        if self.rows:
            self._first = min(s.start_ns for _, s in self.rows)
            self._total = max(1, max(s.end_ns for _, s in self.rows) - self._first)
        services = sorted({s.service_name for _, s in self.rows})
        # the error colour is the errors' alone: no service is drawn in a red of the palette
        palette = [c for c in SERIES_COLOURS if 15 <= QColor(c).hue() <= 320]
        self._colours = {name: QColor(palette[i % len(palette)]) for i, name in enumerate(services)}
        self.setMinimumHeight(ROW_H * (len(self.rows) + 1))
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(900, ROW_H * (len(self.rows) + 1))

    def _bar(self, span: Span) -> QRectF:
        width = max(1.0, self.width() - LABEL_W - 90)
        x = LABEL_W + (span.start_ns - self._first) / self._total * width
        return QRectF(x, 0, max(2.0, span.duration_ns / self._total * width), ROW_H - 6)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = QColor(self._theme.color("text"))
        muted = QColor(self._theme.color("text_muted"))
        bad = QColor(self._theme.severity("critical"))
        metrics = QFontMetrics(self.font())
        painter.setPen(muted)
        painter.drawText(QRectF(LABEL_W, 0, 200, ROW_H), Qt.AlignmentFlag.AlignVCenter, "0 ms")
        painter.drawText(QRectF(self.width() - 290, 0, 200, ROW_H),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                         _ms(self._total))  # fmt: skip
        first = max(0, event.rect().top() // ROW_H - 1)  # only the rows being drawn
        last = min(len(self.rows), event.rect().bottom() // ROW_H + 1)
        for i in range(first, last):
            depth, span = self.rows[i]
            y = ROW_H * (i + 1)
            failed = span.status is SpanStatus.ERROR
            label = f"{ERROR_MARK} " if failed else ""
            label += f"{span.service_name}: {span.operation}"
            painter.setPen(bad if failed else text)
            # one line: a row is ROW_H high, and a multi-line SQL statement's first line (with
            # the span's service) fell outside it
            shown = metrics.elidedText(one_line(label), Qt.TextElideMode.ElideRight,
                                       LABEL_W - 12 - 12 * depth)  # fmt: skip
            painter.drawText(QRectF(6 + 12 * depth, y, LABEL_W, ROW_H),
                             Qt.AlignmentFlag.AlignVCenter, shown)  # fmt: skip
            bar = self._bar(span).translated(0, y + 3)
            painter.fillRect(bar, bad if failed else self._colours[span.service_name])
            if failed:
                painter.setPen(QPen(bad, 2))
                painter.drawRect(bar)
            painter.setPen(muted)
            painter.drawText(QRectF(bar.right() + 6, y, 120, ROW_H),
                             Qt.AlignmentFlag.AlignVCenter, _ms(span.duration_ns))  # fmt: skip
        painter.end()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            row = event.pos().y() // ROW_H - 1
            if 0 <= row < len(self.rows):
                QToolTip.showText(event.globalPos(), self.tip(self.rows[row][1]), self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)

    @staticmethod
    def tip(span: Span) -> str:
        """A span's tooltip: its names, status and first events, all the workload's text,
        escaped (a tooltip reads text that looks like HTML as HTML: an operation named
        ``<img width=1600>`` would draw, a status ``<h1>ALL CLEAR</h1>`` would shout), and
        fitted to a tooltip's most, its longest lines cut alike (``tip_lines``: a 210 KB
        span name was a 210 KB tooltip, and cut as one text it hid the status). Its names
        each on one line (``one_line``): a span named with a multi-line SQL statement took all
        of a tooltip's lines, and its duration, status and error were cut away."""
        lines = [one_line(f"{span.service_name}: {span.operation}"), f"{_ms(span.duration_ns)}, "
                 f"{span.kind.value.lower()}, status {span.status.value}"]  # fmt: skip
        if span.status_message:
            lines.append(span.status_message[:300])
        for event in span.events[:5]:
            said = event.attributes.get("message") or event.attributes.get("exception.message")
            lines.append(f"· {one_line(event.name)}: {(said or '')[:200]}")
        return escaped_tip(tip_lines(lines))  # made printable there


class ServiceGraphView(QWidget):
    """The services of a trace in columns by call depth (who calls at the left), an arrow
    for each caller → called pair with its number of calls (and failed ones); a service
    with a failed span is ringed in the error colour and marked ✖. The first MOST_DRAWN by
    call depth are drawn, and the view says so where a trace has more."""

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self.services: list[str] = []
        self.calls: dict[tuple[str, str], tuple[int, int]] = {}
        self.failing: set[str] = set()
        self._column: dict[str, int] = {}
        self.drawn: list[str] = []  # by column, then name
        self.shown: dict[str, str] = {}  # a drawn service's name as its box says it
        self.drawn_calls: list[tuple[tuple[str, str], tuple[int, int]]] = []
        self.note = ""  # "the first 50 of 20,000 services (by call depth)", else empty
        self.setMinimumHeight(420)

    def set_trace(self, trace: Trace | None) -> None:
        """Laid out here, once: a paint only places what this chose (laid out on every
        paint, a trace through 20,000 services held the UI thread for a minute)."""
        spans = trace.spans if trace else []
        self.calls = service_calls(trace) if trace else {}
        self.services = sorted({s.service_name for s in spans})
        self.failing = {s.service_name for s in spans if s.status is SpanStatus.ERROR}
        self._column = self._layers()
        by_depth = sorted(self._column, key=lambda name: (self._column[name], name))
        self.drawn = by_depth[:MOST_DRAWN]
        # what a box says, once: the workload's name printable (no bidi override, no escape
        # sequence, as in the waterfall), cut before a paint measures it
        self.shown = {name: _cut(printable(name)) for name in self.drawn}
        shown = set(self.drawn)
        self.drawn_calls = [(pair, n) for pair, n in self.calls.items()
                            if pair[0] in shown and pair[1] in shown]  # fmt: skip
        left_out = len(self.services) > len(self.drawn)
        self.note = (f"the first {len(self.drawn)} of {len(self.services):,} services "
                     "(by call depth)") if left_out else ""  # fmt: skip
        self.update()

    def layers(self) -> dict[str, int]:
        """Each service's column: how many calls from a service nobody calls (the callers at
        the left, what they call to the right; a loop does not move a service twice)."""
        return self._column

    def _layers(self) -> dict[str, int]:
        """``layers``, breadth first over each service's callees: each call read once (a
        scan of every call for each service reached was the square of a call chain's)."""
        callees: dict[str, list[str]] = {}
        called: set[str] = set()
        for caller, callee in self.calls:
            callees.setdefault(caller, []).append(callee)
            called.add(callee)
        column = {name: 0 for name in self.services if name not in called} or (
            {self.services[0]: 0} if self.services else {})  # fmt: skip
        frontier = list(column)
        while frontier:
            step = []
            for caller in frontier:
                for callee in callees.get(caller, ()):
                    if callee not in column:
                        column[callee] = column[caller] + 1
                        step.append(callee)
            frontier = step
        for name in self.services:  # reached from nowhere: at the left
            column.setdefault(name, 0)
        return column

    def _places(self) -> dict[str, QPointF]:
        by_column: dict[int, list[str]] = {}
        for name in self.drawn:  # in order of column, then name
            by_column.setdefault(self._column[name], []).append(name)
        columns = sorted(by_column)  # those drawn: the columns of the first MOST_DRAWN
        out = {}
        margin_x, margin_y = 110.0, 30.0
        for c, at in enumerate(columns):
            names = by_column[at]
            x = margin_x + (self.width() - 2 * margin_x) * (
                c / (len(columns) - 1) if len(columns) > 1 else 0.5
            )
            for i, name in enumerate(names):
                y = margin_y + (self.height() - 2 * margin_y) * ((i + 0.5) / len(names))
                out[name] = QPointF(x, y)
        return out

    def paintEvent(self, _event: QEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        places = self._places()
        text = QColor(self._theme.color("text"))
        edge = QColor(self._theme.color("text_muted"))
        bad = QColor(self._theme.severity("critical"))
        if self.note:
            painter.setPen(edge)
            painter.drawText(QRectF(6, 4, self.width() - 12, 20), Qt.AlignmentFlag.AlignLeft,
                             self.note)  # fmt: skip
        for (caller, called), (calls, failed) in self.drawn_calls:
            a, b = places[caller], places[called]
            colour = bad if failed else edge
            painter.setPen(QPen(colour, 1.5))
            painter.drawLine(a, b)
            direction = b - a
            length = math.hypot(direction.x(), direction.y()) or 1.0
            unit = QPointF(direction.x() / length, direction.y() / length)
            tip = b - unit * 26
            side = QPointF(-unit.y(), unit.x())
            painter.setBrush(colour)
            painter.drawPolygon(
                QPolygonF([tip, tip - unit * 10 + side * 5, tip - unit * 10 - side * 5])
            )
            painter.drawText(
                (a + b) / 2 + side * 8, f"{calls}" + (f" ({failed} failed)" if failed else "")
            )
        metrics = QFontMetrics(self.font())
        for name, at in places.items():
            width = metrics.horizontalAdvance(self.shown[name]) + 16
            box = QRectF(at.x() - width / 2, at.y() - 12, width, 24)
            failing = name in self.failing
            painter.setBrush(QColor(self._theme.color("panel")))
            painter.setPen(QPen(bad if failing else edge, 2.5 if failing else 1))
            painter.drawRoundedRect(box, 6, 6)
            painter.setPen(bad if failing else text)
            label = f"{ERROR_MARK} {self.shown[name]}" if failing else self.shown[name]
            painter.drawText(box.adjusted(-20, 0, 20, 0), Qt.AlignmentFlag.AlignCenter, label)
        painter.end()


class TracesView(QWidget):
    sig_search = Signal(object)
    sig_open = Signal(str, str)
    HEADERS = ("Start", "Duration", "Trace ID", "Root service", "Root operation")

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self._found: list[TraceSummary] = []
        self._reading: str | None = None  # the trace asked for and not yet shown
        layout = QVBoxLayout(self)
        self._search_bars(layout)
        self._results(layout)

    def _search_bars(self, layout: QVBoxLayout) -> None:
        bar = QHBoxLayout()
        self.title = PlainLabel("Traces")
        self.title.setProperty("role", "title")
        bar.addWidget(self.title, 1)
        self.cluster = QComboBox()
        self.time_range = TimeRangeBar("1 h")
        for widget in (PlainLabel("Cluster"), self.cluster, self.time_range):
            bar.addWidget(widget)
        layout.addLayout(bar)
        form = QHBoxLayout()
        self.service = QLineEdit()
        self.service.setPlaceholderText("service (any)")
        self.min_duration = QLineEdit()
        self.min_duration.setPlaceholderText("min duration, e.g. 500ms")
        self.errors = QCheckBox("Errors only")
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self._on_search)
        for widget in (self.service, self.min_duration):
            widget.returnPressed.connect(self._on_search)
        for widget in (PlainLabel("Service"), self.service, PlainLabel("Slower than"),
                       self.min_duration, self.errors, self.search_button):  # fmt: skip
            form.addWidget(widget)
        layout.addLayout(form)

    def _results(self, layout: QVBoxLayout) -> None:
        theme = self._theme
        self.error = PlainLabel()
        self.error.setProperty("role", "error")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        split = QSplitter(Qt.Orientation.Vertical)
        self.table = make_table(list(self.HEADERS))
        self.table.empty_text = NONE_FOUND
        self.table.empty_says_when = False
        self.table.itemSelectionChanged.connect(self._on_chosen)
        split.addWidget(self.table)
        self.heading = PlainLabel(CHOOSE_A_TRACE)
        self.tabs = QTabWidget()
        self.waterfall = WaterfallView(theme)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.waterfall)
        self.tabs.addTab(scroll, "Waterfall")
        self.graph = ServiceGraphView(theme)
        self.tabs.addTab(self.graph, "Service graph")
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.heading)
        lower_layout.addWidget(self.tabs, 1)
        split.addWidget(lower)
        split.setSizes([220, 480])
        layout.addWidget(split, 1)

    def set_clusters(self, names: list[str]) -> None:
        refill(self.cluster, names)

    def request(self) -> TraceRequest:
        return TraceRequest(
            self.cluster.currentText(), self.time_range.current,
            self.service.text().strip() or None, self.min_duration.text().strip() or None,
            self.errors.isChecked(),
        )  # fmt: skip

    def search_for(self, cluster: str, service: str | None, start: datetime, end: datetime,
                   *, errors: bool = False) -> None:  # fmt: skip
        """A jump from elsewhere: a service's (failing) traces in a window."""
        choose(self.cluster, cluster)
        self.service.setText(service or "")
        self.errors.setChecked(errors)
        self.time_range.show_span(start, end)
        self._on_search()

    def open_trace(self, cluster: str, trace_id: str) -> None:
        """A jump from a log line: that trace."""
        choose(self.cluster, cluster)
        self._reading_trace(trace_id)
        self.sig_open.emit(cluster, trace_id)

    def show_found(self, found: list[TraceSummary]) -> None:
        """A search's traces, the first opened: the trace shown was the previous search's
        (left, it stood under "No trace found")."""
        self.error.hide()
        self._show_no_trace()
        self.table.empty_text = NONE_FOUND
        self._found = list(found)
        rows = [Row([time_text(datetime.fromtimestamp(t.start_ns / 1e9, UTC), seconds=True),
                     f"{t.duration_ms:,.0f} ms", t.trace_id, printable(t.root_service),
                     printable(t.root_name)], keys={1: t.duration_ms})
                for t in found]  # fmt: skip
        self.table.set_rows(rows)
        if found:
            self.table.selectRow(0)

    def show_trace(self, trace: Trace) -> None:
        errors = sum(s.status is SpanStatus.ERROR for s in trace.spans)
        services = len({s.service_name for s in trace.spans})
        # "20,000 of 25,000 spans" where the trace was cut (its errors are kept)
        said = [trace.spans_said, count(services, "service"), count(errors, "error")]
        self._reading = None
        self.error.hide()  # a read that failed before this one is no longer what is shown
        self.heading.setText(f"Trace {trace.trace_id} · " + " · ".join(said))
        self.waterfall.set_trace(trace)
        self.graph.set_trace(trace)

    def show_error(self, text: str) -> None:
        """The page's error (a search's, a trace's): while a trace is being read, it is the
        one that failed (its heading says so; the waterfall stays empty); else a search
        failed, and the previous search's traces and trace go too."""
        self.error.setText(text)
        self.error.setVisible(bool(text))
        if text and self._reading is not None:
            self.heading.setText(f"Trace {self._reading}: could not be read (see above)")
            self._reading = None
        elif text:  # a search's: the previous search's traces and trace are not its answer
            self._clear_search("No traces: the search failed")

    def _reading_trace(self, trace_id: str) -> None:
        """A trace is asked for: the one shown goes (its waterfall and graph would stand
        under this one's heading, and stay there if this read failed)."""
        self._show_no_trace(f"Trace {trace_id}: reading …")
        self._reading = trace_id

    def _show_no_trace(self, heading: str = CHOOSE_A_TRACE) -> None:
        """No trace under ``heading``: the one shown is not what the page now says."""
        self._reading = None
        self.heading.setText(heading)
        self.waterfall.set_trace(None)
        self.graph.set_trace(None)

    def _clear_search(self, empty_text: str) -> None:
        """A search is run (or failed): the previous one's traces and the trace opened from
        them go (left, they stood under the new search, and stayed there if it failed)."""
        self._found = []
        self.table.empty_text = empty_text
        self.table.set_rows([])
        self._show_no_trace()

    def _on_search(self) -> None:
        if self.cluster.currentText():
            self._clear_search("Searching …")
            self.sig_search.emit(self.request())

    def _on_chosen(self) -> None:
        rows = self.table.selected_rows()
        if rows:
            chosen = self._found[self.table.source_row(rows[0])]
            self._reading_trace(chosen.trace_id)
            # the cluster it was found on: the combo may name the next search's already
            self.sig_open.emit(chosen.cluster, chosen.trace_id)
