"""A sparkline: one series as a line, drawn with QPainter.

A fleet tile needs no axes, zoom or menus: a pyqtgraph plot per tile cost 50 ms and 1.3 MB
each (200 tiles: a 10 s freeze and 260 MB). This widget keeps the points it draws and paints
them scaled to its size.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

#: points kept to draw: a tile is a few hundred pixels wide
MAX_POINTS = 400


class Sparkline(QWidget):
    def __init__(self, colour: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pen = QPen(QColor(colour), 1.5)
        self._x = np.empty(0)
        self._y = np.empty(0)

    @property
    def points(self) -> int:
        return int(self._x.size)

    def set_series(self, series: tuple[np.ndarray, np.ndarray] | None) -> None:
        """The series to draw (timestamps, values); None or only NaN draws nothing."""
        if series is None:
            self._x = self._y = np.empty(0)
        else:
            ts, values = (np.asarray(a, dtype=float) for a in series)
            finite = np.isfinite(ts) & np.isfinite(values)
            ts, values = ts[finite], values[finite]
            if ts.size > MAX_POINTS:  # every k-th point: the shape, not the samples
                step = int(np.ceil(ts.size / MAX_POINTS))
                ts, values = ts[::step], values[::step]
            self._x, self._y = ts, values
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        if self._x.size < 2:
            return
        w, h = self.width() - 2, self.height() - 4
        x0, x1 = float(self._x[0]), float(self._x[-1])
        lo, hi = float(self._y.min()), float(self._y.max())
        xs = (self._x - x0) / ((x1 - x0) or 1.0) * w + 1
        ys = h + 2 - (self._y - lo) / ((hi - lo) or 1.0) * h
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(self._pen)
        painter.drawPolyline(QPolygonF([QPointF(x, y) for x, y in zip(xs, ys, strict=True)]))
        painter.end()
