"""A fleet tile's sparkline draws the data as it is: a period with no value (NaN, +/-Inf)
breaks the line, also when the series is thinned to the points a tile holds, and values near
the float limits (a +/-1.7e308 sentinel) are scaled without overflowing: the highest drawn
at the top, the lowest at the bottom."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint
from PySide6.QtGui import QImage, QRegion
from PySide6.QtWidgets import QWidget

from ui.sparkline import MAX_POINTS, Sparkline

WIDTH, HEIGHT = 200, 40


def _painted(spark: Sparkline) -> QImage:
    image = QImage(WIDTH, HEIGHT, QImage.Format.Format_ARGB32)
    image.fill(0)
    # the line only (no background); an exception or a warning in paintEvent fails the test
    spark.render(image, QPoint(), QRegion(), QWidget.RenderFlag.DrawChildren)
    return image


def _column(image: QImage, x: int) -> list[int]:
    """The rows painted in column ``x``."""
    return [y for y in range(HEIGHT) if image.pixel(x, y) != 0]


def _spark(qtbot) -> Sparkline:  # type: ignore[no-untyped-def]
    spark = Sparkline("#38bdf8")
    qtbot.addWidget(spark)
    spark.resize(WIDTH, HEIGHT)
    return spark


def test_a_gap_breaks_the_sparkline(qtbot) -> None:  # type: ignore[no-untyped-def]
    spark = _spark(qtbot)
    ts = np.arange(20.0) * 60 + 1.8e9
    values = np.array([10.0] * 5 + [np.nan] * 4 + [np.inf, -np.inf] + [np.nan] * 4 + [90.0] * 5)
    spark.set_series((ts, values))
    image = _painted(spark)
    mid = WIDTH // 2  # the middle of the gap
    assert _column(image, mid) == []  # nothing drawn where there was no value
    assert _column(image, WIDTH // 10) and _column(image, WIDTH - WIDTH // 10)
    # thinned to the points a tile holds (every 50th here), a gap shorter than a step is
    # still a gap: the point kept for its step is none
    many = np.arange(20_000.0) * 15 + 1.8e9
    long = np.sin(np.arange(many.size) / 500.0)
    long[10_010:10_040] = np.nan
    spark.set_series((many, long))
    assert spark.points == MAX_POINTS
    assert np.flatnonzero(np.isnan(spark._y)).tolist() == [200]
    _painted(spark)
    # only NaN (or nothing) draws nothing
    spark.set_series((ts, np.full(ts.size, np.nan)))
    assert spark.points == 0 and not any(_column(_painted(spark), x) for x in range(WIDTH))


def test_values_at_the_float_limits_keep_their_shape(qtbot) -> None:  # type: ignore[no-untyped-def]
    spark = _spark(qtbot)
    ts = np.arange(10.0) * 15 + 1.8e9
    values = np.array([1.0, 2.0, 3.0, -1.7e308, 4.0, 5.0, 1.7e308, 6.0, 7.0, 8.0])
    spark.set_series((ts, values))
    image = _painted(spark)
    rows = [y for x in range(WIDTH) for y in _column(image, x)]
    assert rows and min(rows) <= 3 and max(rows) >= HEIGHT - 4  # top and bottom both reached
    # a flat series of huge values is drawn too
    spark.set_series((ts, np.full(ts.size, 1.7e308)))
    assert _column(_painted(spark), WIDTH // 2)
