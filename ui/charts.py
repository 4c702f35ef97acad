"""Live time-series charts in the pyqtgraph habits of docs/architecture.md#habits.

One curve item per series, updated with ``setData`` (never re-created on a redraw), peak
downsampling and clip-to-view so thousands of points stay cheap, a crosshair that reads out
every series at the cursor, and a legend below the plot in columns (never over the lines;
the LEGEND_MOST highest series, the rest counted).
Ten colours, then the same with dashes: a series keeps its style while it lives and a new one
takes a free one. A period with no value (NaN) is a gap in the line, never bridged; +/-Inf
(a p99 past the largest bucket) is drawn at the top or bottom edge of the view; values past
+/-PLOT_LIMIT are drawn at it (near the float limits pyqtgraph's ranges overflow); the cursor
reads them true. The rules' thresholds drawn as lines and an enum series' values
named (``apply_rules``); dates on the time axis when a range crosses midnight; an empty chart
says so. A dashboard's chart spans the range chosen (``set_span``: hours without data are seen
empty), unless the user zoomed or panned it. Redraws come from the presenter's timer.
"""

from __future__ import annotations

import html
import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor

from aiops_desktop.models.anomalies import AnomalyMarker
from aiops_desktop.models.gpu import TEMP_CRITICAL_C, TEMP_WARNING_C
from aiops_desktop.models.ptp import OFFSET_THRESHOLD_NS, STATE_CODES
from ui.theme import Theme
from ui.views.text import tip

SERIES_COLOURS = (
    "#38bdf8", "#a78bfa", "#34d399", "#fbbf24", "#f472b6",
    "#60a5fa", "#f87171", "#2dd4bf", "#c084fc", "#facc15",
)  # fmt: skip
#: past the colours, the same colours again with these line styles: never two alike
SERIES_STYLES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine,
                 Qt.PenStyle.DashDotLine)  # fmt: skip
LEGEND_COLUMNS = 4
#: series named in the legend: those that rose highest (the cursor reads out every one), so
#: a panel of fifty pods names its worst and its plot keeps its room
LEGEND_MOST = 8
LEGEND_ROW_CHARS = 80  # about the text a legend row holds in a dashboard cell
LEGEND_NAME_CHARS = 28  # a longer name is shortened in its middle
#: the crosshair's read-out shortens a name past this in its middle, as the legend does: a
#: label value runs to any length (eight names of 30,000 characters took 104 ms a mouse move)
READOUT_NAME_CHARS = 80
NO_DATA = "No data in this range"
#: an empty chart whose data is being read (another cluster's range, from the cache)
READING = "Reading this range …"
#: an empty chart whose data could not be read (every cluster failed): no "No data"
NOT_READ = "Not read: see why above"
#: values drawn past this are drawn at it: near the float limits (a -1.7e308 sentinel)
#: pyqtgraph's autorange overflows ("Cannot set range [-inf, inf]" on every paint)
PLOT_LIMIT = 1e300
#: +/-Inf is drawn this share of the view's height inside its top or bottom edge (in sight)
EDGE_INSET = 0.005
#: the crosshair reads a series at most this many of its steps after its sample
READOUT_STEPS = 2.0
#: samples further apart than this many of a range query's steps have a gap between them
GAP_STEPS = 1.5


def series_pen(index: int, width: float = 1.0) -> Any:
    """The ``index``-th series' pen: ten colours, then dashed, dotted, dash-dotted. One pixel
    wide: Qt strokes a wider line as a polygon, and a dashed one dash by dash (20 noisy series
    of 1,500 points took 362 ms a paint at 1.5 px, 7 ms at 1)."""
    colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
    style = SERIES_STYLES[(index // len(SERIES_COLOURS)) % len(SERIES_STYLES)]
    return pg.mkPen(colour, width=width, style=style)


def plotted(values: np.ndarray) -> np.ndarray:
    """``values`` as a curve draws them (a new array): NaN and +/-Inf are NaN, a gap
    (``connect="finite"``; +/-Inf is drawn by ``past_edge_steps``), and the rest within
    +/-PLOT_LIMIT."""
    values = np.asarray(values, dtype=float)
    drawn = np.clip(values, -PLOT_LIMIT, PLOT_LIMIT)  # NaN stays NaN, +/-Inf the limit
    drawn[np.isinf(values)] = np.nan
    return drawn


def past_edge_steps(ts: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The steps of a series that reach +/-Inf, as pairs of points (``connect="pairs"``):
    into, along and out of each stretch of it. A p99 past the largest bucket is +Inf, the
    worst latency: a gap, it hid exactly the worst period. None touches NaN (a gap stays a
    gap), nor jumps from +Inf to -Inf (nothing is known between the edges)."""
    values = np.asarray(values, dtype=float)
    inf = np.isinf(values)
    valued = ~np.isnan(values)
    reach = (inf[:-1] | inf[1:]) & valued[:-1] & valued[1:]
    across = inf[:-1] & inf[1:] & (values[:-1] != values[1:])
    at = np.flatnonzero(reach & ~across)
    pairs = np.column_stack([at, at + 1]).ravel()
    return np.asarray(ts, dtype=float)[pairs], values[pairs]


def gaps_marked(ts: np.ndarray, values: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """A range answer's series with a NaN point (a gap, ``plotted``) one step after each
    sample the next one follows by more than GAP_STEPS steps: Prometheus leaves a step with no
    sample out of its answer (it never sends NaN for one), and a curve drawn with
    ``connect="finite"`` joined the samples either side of a 30-minute outage with a line.
    ``step``: the step the answer was read at (a capture's answer says the step its samples
    were recorded at, ``recorded._at_recorded_step``), not the series' own spacing: a target
    present one minute in ten is ten-minute gaps, not a line."""
    ts, values = np.asarray(ts, dtype=float), np.asarray(values, dtype=float)
    after = np.flatnonzero(np.diff(ts) > GAP_STEPS * step) + 1
    if not after.size:
        return ts, values
    return np.insert(ts, after, ts[after - 1] + step), np.insert(values, after, np.nan)


class TimeAxis(pg.DateAxisItem):
    """UTC times, as pyqtgraph labels them: across midnight the day's own tick ("Fri 27")
    says which day the hours after it are of. Each time once said its date too ("11-26
    18:00"), but pyqtgraph spaces its ticks for a short sample label ("18:00") and, the
    dated ones filling more of the axis than it draws, it drew none: a 12 h range across
    midnight showed only "Fri 27" at 450 to 800 px on screen and on a report's page."""


def chart_rules(key: str) -> tuple[list[tuple[float, str, str]], dict[int, str]]:
    """What the rules judge a panel (or GPU history field) by: threshold lines (value, label,
    severity), and the names of an enum series' values, from the same constants the rules
    use (80 C, +/-100 ns, the clock states' codes)."""
    if key in ("gpu_temperature", "temperature_c"):
        return [(TEMP_WARNING_C, f"warning {TEMP_WARNING_C:g} C", "warning"),
                (TEMP_CRITICAL_C, f"critical {TEMP_CRITICAL_C:g} C", "critical")], {}  # fmt: skip
    if key == "ptp_offset":
        band = OFFSET_THRESHOLD_NS
        return [(band, f"+{band:g} ns", "warning"), (-band, f"-{band:g} ns", "warning")], {}
    if key == "ptp_clock_state":
        return [], {code: state.value for code, state in STATE_CODES.items()}
    return [], {}


def _shortened(name: str, most: int) -> str:
    """``name`` cut in its middle to ``most`` characters (a pod keeps its service and its
    hash: "ts-inside-payment…6f94c49ccd-4rdb2")."""
    if len(name) <= most:
        return name
    head = (most - 1) // 2
    return f"{name[:head]}…{name[len(name) - (most - 1 - head) :]}"


def configure_pyqtgraph(theme: Theme) -> None:
    pg.setConfigOptions(
        antialias=False, background=theme.color("panel"), foreground=theme.color("text_muted")
    )
    _configured.add(theme.data.get("name", "theme"))


_configured: set[str] = set()  # charts configure pyqtgraph for their theme, once


ANALYSE_HISTORY_TEXT = "Analyse the last 24 h"


class TimeSeriesChart(pg.PlotWidget):
    """A chart of named series; ``set_series`` reuses curve items across redraws.

    Signals: sig_analyse_history(): the user asked for this panel's stored history to be
    analysed (the chart's context menu).
    """

    sig_analyse_history = Signal()

    #: the series' lines (wider costs paint time: a report's, drawn once and scaled down on
    #: paper, are wider), for the curves made after it is set
    line_width = 1.0

    def __init__(self, title: str, unit: str, theme: Theme, *, sparkline: bool = False) -> None:
        if not _configured:  # the first chart of the process: pyqtgraph takes the theme
            configure_pyqtgraph(theme)
        axis = {"bottom": TimeAxis(utcOffset=0)} if not sparkline else {}
        super().__init__(axisItems=axis)
        self._theme = theme
        self._unit = unit
        self._curves: dict[str, pg.PlotDataItem] = {}
        #: each series' style (``series_pen``) while it lives: a new one takes a free one
        self._styles: dict[str, int] = {}
        self._data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        #: a series' steps that reach +/-Inf (``past_edge_steps``), drawn at the view's edges
        self._past_edge: dict[str, tuple[pg.PlotDataItem, np.ndarray, np.ndarray]] = {}
        self._anomaly_item: pg.ScatterPlotItem | None = None
        self.anomaly_markers: list[AnomalyMarker] = []
        self.thresholds: list[tuple[float, str]] = []
        self.enum_names: dict[int, str] = {}
        self._title = title
        #: the time range the chart spans (``set_span``), and whether the user's own zoom or
        #: pan (the mouse) is shown instead
        self._span: tuple[float, float] | None = None
        self._zoomed = False
        self.setBackground(theme.chart("background"))
        plot = self.getPlotItem()
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        self._pin_past_edge_on_changes(plot)
        self.sparkline = sparkline
        if sparkline:
            plot.hideAxis("left")
            plot.hideAxis("bottom")
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            self.setMenuEnabled(False)
            return
        self.set_title_size("10pt")
        for side in ("left", "bottom"):  # the chart's own theme, whatever pyqtgraph was told
            axis_item = plot.getAxis(side)
            axis_item.setPen(pg.mkPen(theme.chart("grid")))
            axis_item.setTextPen(pg.mkPen(theme.chart("foreground")))
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.setLabel("left", units=None, text=unit)
        # the legend below the plot, in columns: never over the lines, never clipped
        self.legend = pg.LegendItem(
            colCount=LEGEND_COLUMNS, labelTextColor=theme.chart("foreground")
        )
        plot.layout.addItem(self.legend, 4, 1)
        self._legend_names: tuple[list[str], int] = ([], 0)
        self._more = pg.PlotDataItem(pen=None)  # the "+N more" row: no line sample
        self._empty = pg.TextItem(NO_DATA, color=theme.color("text_muted"), anchor=(0.5, 0.5))
        self._empty.setParentItem(plot.getViewBox())
        self._empty.setVisible(False)
        self._vline = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.color("border")))
        self._readout = pg.TextItem(color=theme.color("text"), anchor=(0, 0))
        plot.addItem(self._vline, ignoreBounds=True)
        plot.addItem(self._readout, ignoreBounds=True)
        self._vline.hide()
        self._readout.hide()
        self.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        self._connect_view(plot)

    def _pin_past_edge_on_changes(self, plot: pg.PlotItem) -> None:
        """+/-Inf pinned again when the view's values move and when Log Y is turned on or off
        (after the plot's own handler: its curves are in the new mode by then)."""
        plot.getViewBox().sigYRangeChanged.connect(self._pin_past_edge)
        plot.ctrl.logYCheck.toggled.connect(self._pin_past_edge)

    def _connect_view(self, plot: pg.PlotItem) -> None:
        """The context menu's analysis, and the user's zoom and pan (``set_span``)."""
        menu = plot.getViewBox().menu
        menu.addSeparator()
        self.analyse_action = menu.addAction(ANALYSE_HISTORY_TEXT)
        self.analyse_action.triggered.connect(self.sig_analyse_history)
        plot.getViewBox().sigRangeChangedManually.connect(self._on_range_changed_manually)
        plot.autoBtn.clicked.connect(self.reset_zoom)  # after pyqtgraph's own: "show all"

    def set_span(self, start: float, end: float) -> None:
        """The time axis spans ``start`` to ``end`` (s; a dashboard's range, sliding with
        now), not just the data's own extent: hours of the range without data are seen empty.
        A zoom or pan of the user's stays until ``reset_zoom`` (another range, the auto
        button)."""
        self._span = (start, end)
        if not self._zoomed:
            self.getPlotItem().setXRange(start, end, padding=0)

    def reset_zoom(self) -> None:
        """Span the range again (``set_span``'s), whatever the user zoomed to."""
        self._zoomed = False
        if self._span is not None:
            self.getPlotItem().setXRange(*self._span, padding=0)

    def _on_range_changed_manually(self, _mask: object) -> None:
        """The mouse zoomed or panned: the user's time axis is kept if it moved off the span
        (a zoom of the values alone leaves the range followed)."""
        if self._span is not None:
            shown = self.getPlotItem().getViewBox().viewRange()[0]
            width = max(self._span[1] - self._span[0], 1.0)
            moved = max(abs(shown[0] - self._span[0]), abs(shown[1] - self._span[1]))
            self._zoomed = moved > 1e-6 * width

    def set_title_size(self, size: str) -> None:
        """Draw the title at ``size`` (the PDF's is smaller). pyqtgraph reads a title and a
        legend name as HTML: a label a server sent is escaped, shown as text."""
        self.getPlotItem().setTitle(html.escape(self._title), color=self._theme.color("text"),
                                    size=size)  # fmt: skip

    @property
    def curve_count(self) -> int:
        return len(self._curves)

    def curve(self, name: str) -> pg.PlotDataItem | None:
        return self._curves.get(name)

    def set_series(
        self, series: dict[str, tuple[np.ndarray, np.ndarray]], *, empty_text: str = NO_DATA
    ) -> None:
        """Show exactly these series; existing curves get ``setData``, gone ones are removed.
        ``empty_text``: what the chart says where none has a value (READING, NOT_READ)."""
        plot = self.getPlotItem()
        for name in [n for n in self._curves if n not in series]:
            plot.removeItem(self._curves.pop(name))
            del self._styles[name]
        for name in [n for n in self._past_edge if n not in series]:
            plot.getViewBox().removeItem(self._past_edge.pop(name)[0])
        peaks: dict[str, float] = {}
        taken = set(self._styles.values())
        for name, (ts, values) in sorted(series.items()):
            curve = self._curves.get(name)
            if curve is None:  # the first free style (new series in name order)
                index = next(i for i in range(len(taken) + 1) if i not in taken)
                taken.add(index)
                self._styles[name] = index
                curve = plot.plot(name=None, pen=series_pen(index, self.line_width),
                                  connect="finite")  # fmt: skip
                curve.setDownsampling(auto=True, method="peak")
                curve.setClipToView(True)
                self._curves[name] = curve
            curve.setData(ts, plotted(values))  # every point: a gap stays a gap
            self._set_past_edge(name, ts, values)
            valued = values[~np.isnan(values)]
            peaks[name] = float(valued.max()) if valued.size else -np.inf  # +Inf: highest
        self._data = dict(series)
        self._pin_past_edge()
        self._say_empty(
            not any(np.isfinite(p) for p in peaks.values()) and not self._past_edge,
            empty_text,
            scaled=any(np.isfinite(v).any() for _, v in series.values()),
        )
        if not self.sparkline:
            self._name_in_legend(peaks)

    def _set_past_edge(self, name: str, ts: np.ndarray, values: np.ndarray) -> None:
        """The steps of ``name`` that reach +/-Inf (none: no item), in its pen, left out of
        the autorange (the edges are the view's: ``_pin_past_edge``) and never downsampled
        nor clipped (the plot's curves are: either breaks the pairs)."""
        item = self._past_edge.pop(name, (None,))[0]
        view = self.getPlotItem().getViewBox()
        if not np.isinf(values).any():
            if item is not None:
                view.removeItem(item)
            return
        if item is None:
            item = pg.PlotDataItem(pen=self._curves[name].opts["pen"], connect="pairs")
            view.addItem(item, ignoreBounds=True)
        self._past_edge[name] = (item, *past_edge_steps(ts, values))

    def _pin_past_edge(self, *_changed: object) -> None:
        """+Inf drawn just inside the view's top edge, -Inf its bottom one, wherever the
        view's values go (a zoom, the autorange, the menu's Log Y); the finite end of each
        step where its curve is: on a Log Y plot at log10 of its value (the items are the
        view's, which the plot's log mode does not reach: the rise to +Inf went off the plot),
        0 being log's -Inf (the bottom edge) and a step from below 0 not drawn, as its curve
        is not."""
        if not self._past_edge:
            return
        plot = self.getPlotItem()
        low, high = plot.getViewBox().viewRange()[1]
        inset = (high - low) * EDGE_INSET
        log_y = plot.ctrl.logYCheck.isChecked()
        for item, x, reached in self._past_edge.values():
            y = plotted(reached)
            if log_y:
                with np.errstate(divide="ignore", invalid="ignore"):
                    y = np.log10(y)
            y = np.where(np.isinf(reached), reached, y)
            y = np.where(y == np.inf, high - inset, np.where(y == -np.inf, low + inset, y))
            drawn = np.repeat(~np.isnan(y).reshape(-1, 2).any(axis=1), 2)  # whole pairs
            item.setData(x[drawn], y[drawn])

    def _name_in_legend(self, peaks: dict[str, float]) -> None:
        """The legend names the LEGEND_MOST series that rose highest (in name order) and
        counts the rest; its columns narrow as the names grow, so it never widens the chart."""
        named = sorted(sorted(peaks, key=lambda n: (-peaks[n], n))[:LEGEND_MOST])
        rest = len(peaks) - len(named)
        if (named, rest) == self._legend_names:
            return
        self._legend_names = (named, rest)
        self.legend.clear()
        shown = {n: _shortened(n, LEGEND_NAME_CHARS) for n in named}
        longest = max((len(s) for s in shown.values()), default=1) + 6  # the sample, a gap
        self.legend.setColumnCount(max(1, min(LEGEND_COLUMNS, LEGEND_ROW_CHARS // longest)))
        for name in named:
            self.legend.addItem(self._curves[name], html.escape(shown[name]))
        if rest:
            self.legend.addItem(self._more, f"+{rest} more (the cursor reads each)")

    @property
    def legend_names(self) -> list[str]:
        """The series the legend names."""
        return list(self._legend_names[0])

    def _say_empty(self, empty: bool, text: str, *, scaled: bool) -> None:
        """An empty chart says so, and its axes show no made-up values (0.1 … 0.9); nor does
        the value axis where no value is finite (``scaled``: a p99 +Inf throughout is drawn
        at the top edge, of no scale)."""
        if self.sparkline:
            return
        plot = self.getPlotItem()
        plot.getAxis("left").setStyle(showValues=scaled)
        plot.getAxis("bottom").setStyle(showValues=not empty)
        self._empty.setText(text)  # set only if it changed
        self._empty.setVisible(empty)
        if empty:
            rect = plot.getViewBox().boundingRect()
            self._empty.setPos(rect.center())

    @property
    def empty(self) -> bool:
        return bool(self._empty.isVisible())

    @property
    def empty_text(self) -> str:
        """What an empty chart says: NO_DATA, READING while its data is read
        (``clear_series``), or the ``empty_text`` given with its series."""
        return str(self._empty.toPlainText()) if not self.sparkline else ""

    def clear_series(self, reading: bool = False) -> None:
        """No series and no anomaly markers; ``reading``: it says its data is being read
        (until the next ``set_series``), not that there is none."""
        self.set_series({}, empty_text=READING if reading else NO_DATA)
        self.set_anomalies([])

    def add_threshold(self, value: float, label: str, level: str) -> pg.InfiniteLine:
        """A horizontal line at ``value`` in the severity's colour, labelled at its right."""
        colour = self._theme.severity(level)
        line = pg.InfiniteLine(
            pos=value, angle=0, movable=False,
            pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine), label=label,
            labelOpts={"position": 0.98, "color": colour, "anchors": [(1, 1), (1, 1)]},
        )  # fmt: skip
        self.getPlotItem().addItem(line, ignoreBounds=True)
        self.thresholds.append((value, label))
        return line

    def set_enum_axis(self, names: dict[int, str]) -> None:
        """An enum series (a clock's state): its axis names the values, and only those."""
        self.enum_names = dict(names)
        self.getPlotItem().getAxis("left").setTicks([sorted(names.items())])

    def apply_rules(self, key: str) -> None:
        """The threshold lines and enum names the rules judge ``key`` by (``chart_rules``)."""
        lines, names = chart_rules(key)
        for value, label, level in lines:
            self.add_threshold(value, label, level)
        if names:
            self.set_enum_axis(names)

    def add_markers(self, points: list[tuple[float, float]], colour: str) -> pg.ScatterPlotItem:
        """Markers on the chart (anomalies use these)."""
        item = pg.ScatterPlotItem(
            [p[0] for p in points], plotted(np.array([p[1] for p in points])), symbol="o", size=9,
            brush=pg.mkBrush(QColor(colour)), pen=pg.mkPen(None),
        )  # fmt: skip
        self.getPlotItem().addItem(item)
        return item

    def set_anomalies(self, markers: list[AnomalyMarker]) -> None:
        """One marker per anomaly at its worst point, coloured by severity (replaces the last)."""
        if self._anomaly_item is not None:
            self.getPlotItem().removeItem(self._anomaly_item)
            self._anomaly_item = None
        self.anomaly_markers = list(markers)
        if not markers:
            return
        item = pg.ScatterPlotItem(symbol="t", size=13, pen=pg.mkPen(self._theme.color("text")))
        item.setData(
            [
                {
                    "pos": (m.ts, float(np.clip(m.value, -PLOT_LIMIT, PLOT_LIMIT))),
                    "brush": pg.mkBrush(QColor(self._theme.severity(m.level))),
                    "data": m.text,
                }
                for m in markers
            ]
        )
        item.setToolTip(tip("\n".join(m.text for m in markers[:10])))
        self.getPlotItem().addItem(item)
        self._anomaly_item = item

    def readout_at(self, x: float) -> list[tuple[str, float]]:
        """The value of each series at (or just before) time ``x``: none of a series with no
        value there (a gap), or whose sample before ``x`` is more than READOUT_STEPS of its
        steps before it (a pod gone for 50 minutes read its last 97 % at now). A step is the
        median spacing of the samples about it: a week's older hours are rollups, minutes
        apart, and its last two days raw samples seconds apart."""
        out = []
        for name, (ts, values) in sorted(self._data.items()):
            i = int(np.searchsorted(ts, x, side="right")) - 1
            if i < 0 or np.isnan(values[i]):
                continue
            near = np.diff(ts[max(0, i - 4) : i + 2])
            if near.size and x - ts[i] > READOUT_STEPS * float(np.median(near)):
                continue  # one sample alone has no step: read it
            out.append((name, float(values[i])))
        return out

    def _on_scene_mouse_moved(self, pos: QPointF) -> None:
        plot = self.getPlotItem()
        if not plot.sceneBoundingRect().contains(pos):
            self._vline.hide()
            self._readout.hide()
            return
        point = plot.vb.mapSceneToView(pos)
        values = self.readout_at(point.x())
        self._vline.setPos(point.x())
        self._vline.show()
        text = "\n".join(
            f"{_shortened(name, READOUT_NAME_CHARS)}: {value:.4g} {self._unit}".rstrip()
            for name, value in values[:8]
        )
        self._readout.setText(text)
        self._readout.setPos(point.x(), point.y())
        self._readout.setVisible(bool(values))


__all__ = [
    "PLOT_LIMIT",
    "SERIES_COLOURS",
    "TimeSeriesChart",
    "configure_pyqtgraph",
    "gaps_marked",
    "plotted",
]
