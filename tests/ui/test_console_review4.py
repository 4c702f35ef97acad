"""The console after its review fixes were reviewed: a capture's range answer (its samples a
minute apart, the step asked 15 s) draws its line, not a gap between every two samples; the
status line's tooltip is bounded (a thousand failures held the UI thread 0.76 s a hover)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models import QueryStatus, QueryType
from aiops_desktop.models.metrics import (
    ClusterOutcome,
    MetricQuery,
    PromSeries,
    QueryAnswer,
    TaggedSeries,
)
from ui.presenters.console import to_result
from ui.theme import Theme
from ui.views.console_view import TIP_CHARS_EACH, TIP_MOST, ConsoleView

pytestmark = pytest.mark.qt
T0 = 1.7e9


def test_samples_further_apart_than_the_step_asked_are_a_line_not_gaps() -> None:
    ts = T0 + 60.0 * np.arange(16)  # recorded a minute apart; asked at 15 s
    ts = np.delete(ts, [7, 8, 9])  # and a real outage of four minutes
    series = [TaggedSeries("ran-a", PromSeries({"job": "j"}, ts, np.ones(ts.size)))]
    query = MetricQuery(promql="up", query_type=QueryType.RANGE, step=timedelta(seconds=15))
    result = to_result(QueryAnswer(query, QueryStatus.SUCCESS, series, [], 1.0))
    _, values = next(iter(result.series.values()))
    assert int(np.isnan(values).sum()) == 1  # the outage only


def test_the_status_tooltip_of_a_thousand_failures_is_bounded(qtbot: Any, theme: Theme) -> None:
    view = ConsoleView(theme)
    qtbot.addWidget(view)
    failed = [
        ClusterOutcome(f"cell-{i:04d}", False, 1.0, 0, "unreachable", "connection refused " * 20)
        for i in range(1000)
    ]
    query = MetricQuery(promql="up", query_type=QueryType.INSTANT)
    view.show_result(to_result(QueryAnswer(query, QueryStatus.PARTIAL, [], failed, 1.0)))
    said = view.status.toolTip()
    assert len(said) < TIP_MOST * (TIP_CHARS_EACH + 20)  # 517,000 characters before
    assert "cell-0000" in said and "… and 900 more" in said
