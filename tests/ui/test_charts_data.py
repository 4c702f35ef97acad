"""Charts draw the data as it is: a series keeps its own colour and style while it lives and
never shares them with another (a pod that appears later takes a free style), a period with
no value (NaN, +/-Inf) is a gap in the line, never bridged, and values near the float limits
(a -1.7e308 sentinel) neither break the autorange nor hide the rest of the chart."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor

from aiops_desktop.models.anomalies import AnomalyMarker
from ui.charts import TimeSeriesChart
from ui.theme import Theme

TS = np.arange(20.0) * 60 + 1.8e9


def _style(chart: TimeSeriesChart, name: str) -> tuple[str, object]:
    curve = chart.curve(name)
    assert curve is not None
    pen = curve.opts["pen"]
    return pen.color().name(), pen.style()


def test_a_later_series_never_takes_a_style_in_use(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    chart = TimeSeriesChart("Pod CPU", "cores", theme)
    qtbot.addWidget(chart)
    flat = (TS, np.ones(TS.size))
    chart.set_series({"pod-b": flat})
    b = _style(chart, "pod-b")
    chart.set_series({"pod-a": flat, "pod-b": flat})  # a pod sorted before the first
    assert _style(chart, "pod-a") != b and _style(chart, "pod-b") == b  # b keeps its own
    # pods come and go over many redraws: the live ones never share a style, and each keeps
    # the one it was given while it lives
    rng = np.random.default_rng(7)
    given: dict[str, tuple[str, object]] = {}
    live: set[str] = set()
    for _ in range(60):
        for name in rng.choice([f"pod-{i:02d}" for i in range(40)], 6, replace=False):
            live.symmetric_difference_update({str(name)})
        chart.set_series({name: flat for name in live})
        styles = {name: _style(chart, name) for name in live}
        assert len(set(styles.values())) == len(live), styles
        for name in [n for n in given if n not in live]:
            del given[name]
        for name, style in styles.items():
            assert given.setdefault(name, style) == style, name
    # the first draw of many series is styled in name order, as it always was
    fresh = TimeSeriesChart("GPU util", "%", theme)
    qtbot.addWidget(fresh)
    fresh.set_series({f"gpu{i:02d}": flat for i in range(12)})
    assert [_style(fresh, f"gpu{i:02d}")[0] for i in range(3)] == ["#38bdf8", "#a78bfa", "#34d399"]


def _line_pixels(chart: TimeSeriesChart, name: str, at: float) -> int:
    """Pixels of the series' colour in the chart's column at time ``at``."""
    image = chart.grab().toImage()
    curve = chart.curve(name)
    assert curve is not None
    colour: QColor = curve.opts["pen"].color()
    scene = chart.getPlotItem().vb.mapViewToScene(QPointF(at, 50))
    x = int(chart.mapFromScene(scene).x())
    return sum(
        1
        for y in range(image.height())
        if abs(image.pixelColor(x, y).hue() - colour.hue()) < 8
        and image.pixelColor(x, y).saturation() > 100
    )


def test_a_gap_is_not_bridged(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    chart = TimeSeriesChart("GPU util", "%", theme)
    qtbot.addWidget(chart)
    chart.resize(600, 300)
    chart.show()
    qtbot.waitExposed(chart)
    values = np.array([10.0] * 5 + [np.nan] * 4 + [np.inf, -np.inf] + [np.nan] * 4 + [90.0] * 5)
    chart.set_series({"gpu0": (TS, values), "none": (TS, np.full(TS.size, np.nan))})
    chart.grab()
    assert _line_pixels(chart, "gpu0", TS[2]) > 0  # a real sample is drawn
    assert _line_pixels(chart, "gpu0", TS[10]) == 0  # mid-gap: nothing drawn
    curve = chart.curve("gpu0")
    assert curve is not None and curve.opts["connect"] == "finite"
    x, y = curve.getData()
    assert x is not None and y is not None and len(x) == TS.size  # the gap is handed over
    assert np.isnan(y[5:15]).all()  # +/-Inf is no value either: a gap, not a spike
    assert not chart.empty


def test_values_at_the_float_limits(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    """A counter's wrap or a +/-1.7e308 sentinel: pyqtgraph's autorange overflowed ("Cannot
    set range [-inf, inf]" on every paint, the view left at [0, 1])."""
    top = np.array([1.7e308] * 3 + [1e308] * 7)
    chart = TimeSeriesChart("Counter", "", theme)
    qtbot.addWidget(chart)
    chart.resize(600, 300)
    chart.show()
    qtbot.waitExposed(chart)
    chart.set_series({"c": (TS[:10], top)})
    vb = chart.getPlotItem().vb

    def shown() -> bool:
        """The view holds every value drawn (and more than [0, 1])."""
        chart.grab()  # a paint: an exception raised there fails the test (pytest-qt)
        low, high = vb.viewRange()[1]
        drawn = [c.getData()[1] for c in (chart.curve(n) for n in chart._curves) if c]
        lows = [float(np.nanmin(y)) for y in drawn]
        highs = [float(np.nanmax(y)) for y in drawn]
        if chart._anomaly_item is not None:
            lows.append(float(min(p.pos().y() for p in chart._anomaly_item.points())))
        return bool(np.isfinite([low, high]).all() and low <= min(lows) and max(highs) <= high)

    qtbot.waitUntil(shown, timeout=3000)
    assert vb.viewRange()[1][0] > 1e299  # near the top of the floats: not [0, 1]
    assert chart.readout_at(TS[0]) == [("c", 1.7e308)]  # the cursor reads the true value
    # huge values short of the limit keep their shape
    chart.set_series({"c": (TS[:10], top / 1e9)})
    qtbot.waitUntil(shown, timeout=3000)
    y = chart.curve("c").getData()[1]  # type: ignore[union-attr]
    assert np.array_equal(y, top / 1e9)
    # sentinels either side of ordinary values: all of it in view
    mixed = np.array([1.0, 2.0, 3.0, -1.7e308, 4.0, 5.0, 1.7e308, 6.0, 7.0, 8.0])
    chart.set_series({"c": (TS[:10], mixed)})
    qtbot.waitUntil(shown, timeout=3000)
    low, high = vb.viewRange()[1]
    assert low < -1e299 and high > 1e299
    # back to ordinary values: the view follows them down
    chart.set_series({"c": (TS[:10], np.arange(10.0))})
    qtbot.waitUntil(lambda: shown() and vb.viewRange()[1][1] < 100, timeout=3000)
    # an anomaly marked at such a value does not break the autorange either
    marker = AnomalyMarker(ts=float(TS[3]), value=-1.7e308, level="critical", text="low")
    chart.set_anomalies([marker])
    qtbot.waitUntil(lambda: shown() and vb.viewRange()[1][0] < -1e299, timeout=3000)
