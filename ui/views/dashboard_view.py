"""A cluster's dashboard: the catalog's panels as live charts, with one time range and pause."""

from __future__ import annotations

import html

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models.catalog import Panel
from aiops_desktop.models.curves import outlying_curves
from ui.charts import TimeSeriesChart
from ui.theme import Theme
from ui.views.text import PlainLabel
from ui.views.time_range import TimeRangeBar

COLUMNS = 2


class DashboardView(QWidget):
    """Signals: sig_range_changed(TimeRange), sig_pause_toggled(bool),
    sig_analyse_history(list[str] | None): analyse the stored history of these panels (None:
    every panel)."""

    sig_range_changed = Signal(object)
    sig_pause_toggled = Signal(bool)
    sig_analyse_history = Signal(object)

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        #: the charts shown, in the panels' order
        self.charts: dict[str, TimeSeriesChart] = {}
        #: every chart made so far: a panel shown again reuses its chart (making one takes
        #: 15-25 ms on the UI thread, and a cluster's 17 panels froze the window 0.4 s each
        #: time it followed a cluster with other endpoints)
        self._made: dict[str, TimeSeriesChart] = {}
        #: each chart's title as its chart shows it: with how many of its series it draws
        #: where it cannot draw all
        self._titles: dict[str, tuple[str, str]] = {}
        self._setup_ui()

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.freshness = PlainLabel()
        bar.addWidget(self.freshness, 1)
        self.time_range = TimeRangeBar("1 h")
        self.range = self.time_range.range
        self.time_range.sig_changed.connect(self._on_range_chosen)
        bar.addWidget(self.time_range)
        self.pause = QPushButton("Pause")
        self.pause.setCheckable(True)
        self.pause.toggled.connect(self._on_pause_toggled)
        bar.addWidget(self.pause)
        self.analyse = QPushButton("Analyse 24 h")
        self.analyse.setToolTip(
            "Look for anomalies in the last 24 h of every panel (stored history); "
            "one panel: right-click its chart"
        )
        self.analyse.clicked.connect(lambda: self.sig_analyse_history.emit(None))
        bar.addWidget(self.analyse)
        layout.addLayout(bar)
        self.analysis = PlainLabel()
        self.analysis.setWordWrap(True)
        self.analysis.setStyleSheet(f"color: {self._theme.color('text_muted')};")
        layout.addWidget(self.analysis)
        #: said where a cluster has no endpoint that charts read (its API server alone)
        self.no_charts = PlainLabel(
            "No charts: this cluster has no Prometheus, Loki or Tempo endpoint. Its Details "
            "and Kubernetes tabs read the API server; set an endpoint to chart it "
            "(aiops-desktop clusters set-endpoint NAME prometheus URL)."
        )
        self.no_charts.setWordWrap(True)
        self.no_charts.hide()
        layout.addWidget(self.no_charts)
        self.scroll = scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        inner = QWidget()
        self.grid = QGridLayout(inner)
        scroll.setWidget(inner)
        layout.addWidget(scroll, 1)

    def set_panels(self, panels: list[Panel]) -> None:
        """A cluster's panels: each chart empty, saying its data is being read, until the
        presenter shows it (at once from the live buffers; a range read from the cache when
        the read answers): the last cluster's lines and markers are never left in it."""
        self.no_charts.setVisible(not panels)
        if list(self.charts) != [p.id for p in panels]:
            for chart in self.charts.values():
                self.grid.removeWidget(chart)
                chart.hide()
            self.charts.clear()
            for index, panel in enumerate(panels):
                chart = self._made.get(panel.id) or self._make_chart(panel)
                self.grid.addWidget(chart, index // COLUMNS, index % COLUMNS)
                chart.show()
                self.charts[panel.id] = chart
        for panel_id, chart in self.charts.items():
            chart.clear_series(reading=True)  # what another cluster showed in it is not this one's
            chart.reset_zoom()  # another cluster: the range, not a zoom
            self._say_drawn(panel_id, chart, 0, 0)

    def _make_chart(self, panel: Panel) -> TimeSeriesChart:
        chart = TimeSeriesChart(panel.title, panel.unit, self._theme)
        chart.apply_rules(panel.id)
        chart.setMinimumHeight(220)
        chart.sig_analyse_history.connect(
            lambda panel_id=panel.id: self.sig_analyse_history.emit([panel_id])
        )
        self._made[panel.id] = chart
        self._titles[panel.id] = (panel.title, panel.title)
        return chart

    def _say_drawn(self, panel_id: str, chart: TimeSeriesChart, drawn: int, total: int) -> None:
        """The chart's title says how many of the panel's series it draws, where not all."""
        title = self._titles[panel_id][0]
        shown = f"{title} · {drawn:,} of {total:,} series shown" if drawn < total else title
        if shown != self._titles[panel_id][1]:  # set only when it changed (a layout pass)
            self._titles[panel_id] = (title, shown)
            # the title's colour and size stay the chart's own (the label keeps them)
            chart.getPlotItem().setTitle(html.escape(shown))

    def show_panel(
        self,
        panel_id: str,
        series: dict,  # type: ignore[type-arg]
        start: float | None = None,
        end: float | None = None,
    ) -> None:
        """A panel's series over the range from ``start`` to ``end`` (s), which its chart
        spans: the hours of the range without data are shown empty, not left out. At most
        MOST_CURVES of them are drawn, those furthest from the rest (a FREERUN PTP port is its
        panel's lowest curve), as in the console: each curve costs some 4 ms on the UI thread
        to add and as much at every repaint (a panel of 1,000 GPUs held the window 6 s at every
        poll)."""
        chart = self.charts.get(panel_id)
        if chart is not None:
            drawn = outlying_curves(series)
            chart.set_series(drawn)
            self._say_drawn(panel_id, chart, len(drawn), len(series))
            if start is not None and end is not None:
                chart.set_span(start, end)

    def show_panel_anomalies(self, panel_id: str, markers: list) -> None:  # type: ignore[type-arg]
        chart = self.charts.get(panel_id)
        if chart is not None:
            chart.set_anomalies(markers)

    def show_analysis(self, text: str) -> None:
        self.analysis.setText(text)

    def select_range(self, label: str) -> None:
        self.time_range.select(label)

    def scroll_to(self, chart: QWidget) -> None:
        self.scroll.ensureWidgetVisible(chart)

    def show_freshness(self, text: str, stale: bool) -> None:
        self.freshness.setText(text)
        colour = self._theme.severity("warning") if stale else self._theme.color("text_muted")
        self.freshness.setStyleSheet(f"color: {colour};")

    def _on_range_chosen(self, chosen: object) -> None:
        for chart in self.charts.values():  # the range chosen, not the user's last zoom
            chart.reset_zoom()
        self.sig_range_changed.emit(chosen)

    def _on_pause_toggled(self, paused: bool) -> None:
        self.pause.setText("Resume" if paused else "Pause")
        self.sig_pause_toggled.emit(paused)
