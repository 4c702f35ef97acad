"""A sparkline: one series as a line, drawn with QPainter.

A fleet tile needs no axes, zoom or menus: a pyqtgraph plot per tile cost 50 ms and 1.3 MB
each (200 tiles: a 10 s freeze and 260 MB). This widget keeps the points it draws and paints
them scaled to its size (numpy, and pyqtgraph's array-to-path: no per-point Python). A period
with no value (NaN, +/-Inf) breaks the line; values near the float limits are scaled without
overflowing.
"""

from __future__ import annotations

import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

#: points kept to draw: a tile is a few hundred pixels wide
MAX_POINTS = 400


def _unit(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """``values`` scaled from [low, high] to [0, 1] (all 0 when flat); halved first, as the
    span of two values near the float limits (-1.7e308 .. 1.7e308) overflows."""
    span = high * 0.5 - low * 0.5
    return (values * 0.5 - low * 0.5) / (span or 1.0)


class Sparkline(QWidget):
    def __init__(self, colour: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pen = QPen(QColor(colour), 1.5)
        self._x = np.empty(0)
        self._y = np.empty(0)  # NaN: no value, a gap

    @property
    def points(self) -> int:
        return int(self._x.size)

    def set_series(self, series: tuple[np.ndarray, np.ndarray] | None) -> None:
        """The series to draw (timestamps, values); None or only NaN draws nothing. A value
        that is not finite is a gap; thinned to MAX_POINTS, a gap stays one."""
        self._x = self._y = np.empty(0)
        if series is not None:
            ts, values = (np.asarray(a, dtype=float) for a in series)
            timed = np.isfinite(ts)  # a point with no time has no place
            ts, values = ts[timed], values[timed]
            gaps = ~np.isfinite(values)
            if not gaps.all():
                if ts.size > MAX_POINTS:  # every k-th point: the shape, not the samples
                    starts = np.arange(0, ts.size, int(np.ceil(ts.size / MAX_POINTS)))
                    gaps = np.logical_or.reduceat(gaps, starts)  # a gap in a step: a gap
                    ts, values = ts[starts], values[starts]
                self._x, self._y = ts, np.where(gaps, np.nan, values)
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        if self._x.size < 2:
            return
        w, h = self.width() - 2, self.height() - 4
        xs = _unit(self._x, float(self._x[0]), float(self._x[-1])) * w + 1
        ys = h + 2 - _unit(self._y, float(np.nanmin(self._y)), float(np.nanmax(self._y))) * h
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(self._pen)
        painter.drawPath(pg.arrayToQPath(xs, ys, connect="finite"))
        painter.end()
