"""Review of a report chart's time axis: a night shift's chart (18:00 to 06:00, across
midnight) drawn for paper says its hours (with every time dated, "11-26 18:00", it said only
"Fri 27": pyqtgraph spaces ticks for "18:00"), the day's tick saying which day follows; a day
shift's is labelled as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from PySide6.QtGui import QImage, QPainter

from aiops_desktop.models.reports import Chart
from ui import report_pdf
from ui.charts import TimeSeriesChart
from ui.theme import Theme


def _labels_drawn(chart: TimeSeriesChart) -> list[str]:
    """The time axis's tick labels as it draws them (those it leaves out are not listed)."""
    axis = chart.getPlotItem().getAxis("bottom")
    canvas = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(canvas)
    try:
        _axis, _ticks, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [text for _rect, _flags, text in texts]


def _paper_labels(monkeypatch: pytest.MonkeyPatch, theme: Theme, end: datetime) -> list[str]:
    """The time labels on a 12 h chart to ``end`` drawn as a report draws it (``chart_image``)."""
    drawn: list[str] = []

    class Recorded(TimeSeriesChart):
        def grab(self, *args: Any) -> Any:
            image = super().grab(*args)
            drawn.extend(_labels_drawn(self))
            return image

    monkeypatch.setattr(report_pdf, "TimeSeriesChart", Recorded)
    ts = np.arange((end - timedelta(hours=12)).timestamp(), end.timestamp(), 60.0)
    chart = Chart("Node CPU", "percent", {"node-1": (ts, 50 + 10 * np.sin(ts / 3000))})
    report_pdf.chart_image(chart, theme)
    return drawn


def test_a_night_shift_chart_says_its_hours_on_paper(qapp, monkeypatch, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    labels = _paper_labels(monkeypatch, theme, datetime(2026, 11, 27, 6, tzinfo=UTC))
    hours = [label for label in labels if ":" in label]
    assert len(hours) >= 2, labels
    assert "Fri 27" in labels, labels  # midnight: the day the later hours are of


def test_a_day_shift_chart_is_labelled_as_before(qapp, monkeypatch, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    labels = _paper_labels(monkeypatch, theme, datetime(2026, 11, 27, 18, tzinfo=UTC))
    assert labels == ["06:00", "12:00", "18:00"]
