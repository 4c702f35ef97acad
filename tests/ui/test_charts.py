"""Charts: the legend sits below the plot in columns (never over the lines; the highest
series named, the rest counted, fewer columns for long names), series past the
ten colours get dashes, the rules' thresholds are lines and an enum series' axis names its
values, the time axis says its hours and the day across midnight, an empty chart says so."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter

from aiops_desktop.models.gpu import TEMP_CRITICAL_C
from ui.charts import LEGEND_MOST, NO_DATA, TimeAxis, TimeSeriesChart, series_pen
from ui.theme import Theme


def test_legend_below_and_distinct_series(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    chart = TimeSeriesChart("GPU util", "%", theme)
    qtbot.addWidget(chart)
    chart.resize(800, 300)
    ts = np.arange(60.0) * 15 + 1.8e9
    chart.set_series({f"gpu{i}": (ts, np.full(60, float(i))) for i in range(12)})
    chart.show()
    qtbot.waitExposed(chart)
    plot = chart.getPlotItem()
    legend_top = chart.legend.sceneBoundingRect().top()
    assert legend_top >= plot.getViewBox().sceneBoundingRect().bottom()  # outside the lines
    # the eight that rose highest are named, in name order, and the rest counted
    assert chart.legend_names == sorted(f"gpu{i}" for i in range(4, 12))
    assert len(chart.legend.items) == LEGEND_MOST + 1
    assert chart.legend.items[-1][1].text == "+4 more (the cursor reads each)"
    # long names take fewer columns: the legend never widens the chart past its cell
    pods = {
        f"ts-inside-payment-service-6f94c49ccd-{i:05d}": (ts, np.full(60, 1.0)) for i in range(3)
    }
    chart.set_series(pods)
    assert chart.legend.columnCount == 2 and chart.legend_names == sorted(pods)
    texts = [label.text for _, label in chart.legend.items]
    assert texts[0] == "ts-inside-pay…94c49ccd-00000" and len(texts[0]) == 28
    assert chart.curve_count == 3
    # a name a server sent is shown as text, never read as HTML (a title neither)
    crafted = '<img src="file:///etc/passwd"><b>pod</b>&'
    chart.set_series({crafted: (ts, np.full(60, 1.0))})
    [(_, label)] = chart.legend.items
    assert label.item.toPlainText() == crafted[:13] + "…" + crafted[-14:]
    titled = TimeSeriesChart("<i>cluster</i> pod x", "", theme)
    qtbot.addWidget(titled)
    assert titled.getPlotItem().titleLabel.item.toPlainText() == "<i>cluster</i> pod x"
    assert series_pen(0).style() == Qt.PenStyle.SolidLine
    assert series_pen(11).style() == Qt.PenStyle.DashLine  # past the ten colours
    assert series_pen(1).color() != series_pen(0).color()


def test_rules_lines_enum_names_and_an_empty_chart(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    hot = TimeSeriesChart("GPU temperature", "C", theme)
    qtbot.addWidget(hot)
    hot.apply_rules("gpu_temperature")
    assert [v for v, _label in hot.thresholds] == [70.0, TEMP_CRITICAL_C]
    clock = TimeSeriesChart("PTP clock state", "state", theme)
    qtbot.addWidget(clock)
    clock.apply_rules("ptp_clock_state")
    assert clock.enum_names == {0: "FREERUN", 1: "LOCKED", 2: "HOLDOVER"}
    empty = TimeSeriesChart("Nothing", "", theme)
    qtbot.addWidget(empty)
    empty.set_series({})
    assert empty.empty and empty._empty.toPlainText() == NO_DATA
    empty.set_series({"a": (np.array([1.8e9]), np.array([1.0]))})
    assert not empty.empty


def test_the_time_axis_says_its_hours_and_the_day_across_midnight(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    """Across midnight the hours are drawn (dated labels, "11-26 18:00", were left out by
    pyqtgraph: ticks spaced for "18:00"), and the day's tick says which day follows."""
    end = datetime(2026, 11, 27, 6, tzinfo=UTC).timestamp()
    ts = np.arange(end - 12 * 3600, end, 60.0)  # a night shift: 18:00 to 06:00
    for width in (450, 800):
        chart = TimeSeriesChart("Across midnight", "", theme)
        qtbot.addWidget(chart)
        chart.resize(width, 300)
        chart.set_series({"a": (ts, 50 + np.sin(ts / 3000))})
        chart.getPlotItem().enableAutoRange()
        chart.grab()  # drawn once: the axis has picked its ticks
        axis = chart.getPlotItem().getAxis("bottom")
        assert isinstance(axis, TimeAxis)
        drawn = _labels_drawn(axis)
        assert "Fri 27" in drawn, drawn
        assert len([t for t in drawn if ":" in t]) >= 2, (width, drawn)


def _labels_drawn(axis: TimeAxis) -> list[str]:
    """The axis's tick labels as it draws them (those it leaves out are not listed)."""
    canvas = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(canvas)
    try:
        _axis, _ticks, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [text for _rect, _flags, text in texts]
