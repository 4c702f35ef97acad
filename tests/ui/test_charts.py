"""Charts: the legend sits below the plot in columns (never over the lines; the highest
series named, the rest counted, fewer columns for long names), series past the
ten colours get dashes, the rules' thresholds are lines and an enum series' axis names its
values, the time axis says the date when a range crosses midnight, an empty chart says so."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from PySide6.QtCore import Qt

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


def test_the_time_axis_says_the_date_across_midnight(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    before = datetime(2026, 12, 4, 23, 0, tzinfo=UTC).timestamp()
    after = datetime(2026, 12, 5, 1, 0, tzinfo=UTC).timestamp()
    chart = TimeSeriesChart("Across midnight", "", theme)
    qtbot.addWidget(chart)
    chart.resize(800, 300)
    chart.set_series({"a": (np.array([before, after]), np.array([1.0, 2.0]))})
    chart.grab()  # drawn once: the axis has picked its ticks
    axis = chart.getPlotItem().getAxis("bottom")
    assert isinstance(axis, TimeAxis)

    def ticks() -> list[str]:
        low, high = axis.range
        spacing, values = axis.tickValues(low, high, 800)[-1]  # the finest ticks
        return axis.tickStrings(values, 1.0, spacing)

    shown = ticks()
    assert shown and all(t[:5] in ("12-04", "12-05") for t in shown), shown
    assert any(t.startswith("12-05 00:") for t in shown), shown
    chart.set_series({"a": (np.array([before, before + 1800]), np.array([1.0, 2.0]))})
    chart.getPlotItem().enableAutoRange()
    chart.grab()
    same_day = ticks()
    assert all(":" in t and "12-04" not in t for t in same_day), same_day
