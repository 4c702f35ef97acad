"""Live time-series charts in the pyqtgraph habits of docs/architecture.md#habits.

One curve item per series, updated with ``setData`` (never re-created on a redraw), peak
downsampling and clip-to-view so thousands of points stay cheap, a crosshair that reads out
every series at the cursor, and a legend. Redraws come from the presenter's timer.
"""

from __future__ import annotations

import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtGui import QColor

from aiops_desktop.models.anomalies import AnomalyMarker
from ui.theme import Theme
from ui.views.text import tip

SERIES_COLOURS = (
    "#38bdf8", "#a78bfa", "#34d399", "#fbbf24", "#f472b6",
    "#60a5fa", "#f87171", "#2dd4bf", "#c084fc", "#facc15",
)  # fmt: skip


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

    def __init__(self, title: str, unit: str, theme: Theme, *, sparkline: bool = False) -> None:
        if not _configured:  # the first chart of the process: pyqtgraph takes the theme
            configure_pyqtgraph(theme)
        axis = {"bottom": pg.DateAxisItem(utcOffset=0)} if not sparkline else {}
        super().__init__(axisItems=axis)
        self._theme = theme
        self._unit = unit
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._anomaly_item: pg.ScatterPlotItem | None = None
        self.anomaly_markers: list[AnomalyMarker] = []
        self.setBackground(theme.chart("background"))
        plot = self.getPlotItem()
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        self.sparkline = sparkline
        if sparkline:
            plot.hideAxis("left")
            plot.hideAxis("bottom")
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            self.setMenuEnabled(False)
            return
        plot.setTitle(title, color=theme.color("text"), size="10pt")
        for side in ("left", "bottom"):  # the chart's own theme, whatever pyqtgraph was told
            axis_item = plot.getAxis(side)
            axis_item.setPen(pg.mkPen(theme.chart("grid")))
            axis_item.setTextPen(pg.mkPen(theme.chart("foreground")))
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.setLabel("left", units=None, text=unit)
        self.legend = plot.addLegend(offset=(-10, 10), labelTextColor=theme.color("text_muted"))
        self._vline = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.color("border")))
        self._readout = pg.TextItem(color=theme.color("text"), anchor=(0, 0))
        plot.addItem(self._vline, ignoreBounds=True)
        plot.addItem(self._readout, ignoreBounds=True)
        self._vline.hide()
        self._readout.hide()
        self.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        menu = plot.getViewBox().menu
        menu.addSeparator()
        self.analyse_action = menu.addAction(ANALYSE_HISTORY_TEXT)
        self.analyse_action.triggered.connect(self.sig_analyse_history)

    @property
    def curve_count(self) -> int:
        return len(self._curves)

    def curve(self, name: str) -> pg.PlotDataItem | None:
        return self._curves.get(name)

    def set_series(self, series: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Show exactly these series; existing curves get ``setData``, gone ones are removed."""
        plot = self.getPlotItem()
        for name in [n for n in self._curves if n not in series]:
            plot.removeItem(self._curves.pop(name))
        for index, (name, (ts, values)) in enumerate(sorted(series.items())):
            curve = self._curves.get(name)
            if curve is None:
                colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
                curve = plot.plot(
                    name=None if self.sparkline else name, pen=pg.mkPen(colour, width=1.5)
                )
                curve.setDownsampling(auto=True, method="peak")
                curve.setClipToView(True)
                self._curves[name] = curve
            finite = np.isfinite(values)
            curve.setData(ts[finite], values[finite])
        self._data = dict(series)

    def add_markers(self, points: list[tuple[float, float]], colour: str) -> pg.ScatterPlotItem:
        """Markers on the chart (anomalies use these)."""
        item = pg.ScatterPlotItem(
            [p[0] for p in points], [p[1] for p in points], symbol="o", size=9,
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
                    "pos": (m.ts, m.value),
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
        """The value of each series at (or just before) time ``x``."""
        out = []
        for name, (ts, values) in sorted(self._data.items()):
            if ts.size == 0:
                continue
            i = int(np.searchsorted(ts, x, side="right")) - 1
            if i >= 0:
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
        text = "\n".join(f"{name}: {value:.4g} {self._unit}".rstrip() for name, value in values[:8])
        self._readout.setText(text)
        self._readout.setPos(point.x(), point.y())
        self._readout.setVisible(bool(values))


__all__ = ["SERIES_COLOURS", "TimeSeriesChart", "configure_pyqtgraph"]
