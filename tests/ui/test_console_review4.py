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
from ui.views.console_view import TIP_MOST, ConsoleView
from ui.views.rows_table import TIP_CHARS, TIP_LINES

pytestmark = pytest.mark.qt
T0 = 1.7e9


def test_a_captures_samples_a_minute_apart_are_a_line_not_gaps() -> None:
    """A capture answers at the step it recorded its samples at (its answer says so), not
    the 15 s asked: a gap between every two of them drew no line at all; a target present
    one minute in ten, live, is still ten-minute gaps (review of ad4a60b)."""
    from aiops_desktop.services.outputs.recorded import _at_recorded_step

    ts = T0 + 60.0 * np.arange(16)  # recorded a minute apart; asked at 15 s
    ts = np.delete(ts, [7, 8, 9])  # and a real outage of four minutes
    series = [TaggedSeries("ran-a", PromSeries({"job": "j"}, ts, np.ones(ts.size)))]
    asked = MetricQuery(promql="up", query_type=QueryType.RANGE, step=timedelta(seconds=15))
    query = _at_recorded_step(asked, series)
    assert query.step == timedelta(seconds=60)
    result = to_result(QueryAnswer(query, QueryStatus.SUCCESS, series, [], 1.0))
    _, values = next(iter(result.series.values()))
    assert int(np.isnan(values).sum()) == 1  # the outage only
    sparse = T0 + 600.0 * np.arange(6)  # live, at 60 s: present one minute in ten
    live = [TaggedSeries("ran-a", PromSeries({"job": "j"}, sparse, np.ones(6)))]
    step60 = MetricQuery(promql="up", query_type=QueryType.RANGE, step=timedelta(seconds=60))
    shown = to_result(QueryAnswer(step60, QueryStatus.SUCCESS, live, [], 1.0))
    _, values = next(iter(shown.series.values()))
    assert int(np.isnan(values).sum()) == 5


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
    assert len(said) < TIP_CHARS + TIP_LINES * 20  # 517,000 characters before
    assert "cell-0000" in said and f"… and {1000 - TIP_MOST:,} more" in said


def test_the_status_tooltip_is_as_small_as_a_tables(qtbot: Any, theme: Theme) -> None:
    """The tooltip of many failures fits a table's tooltip bounds (TIP_LINES, TIP_CHARS): 100
    entries of 600 characters made a tip 9,600 px tall; each entry still says its cluster
    and why it failed, however long the cluster's name (review of ad4a60b)."""
    view = ConsoleView(theme)
    qtbot.addWidget(view)
    failed = [
        ClusterOutcome(f"cell-{i:04d}-" + "n" * 300, False, 1.0, 0, "unreachable",
                       "HTTP 502: upstream connect error or disconnect/reset " * 12)
        for i in range(1000)
    ]  # fmt: skip
    query = MetricQuery(promql="up", query_type=QueryType.INSTANT)
    view.show_result(to_result(QueryAnswer(query, QueryStatus.PARTIAL, [], failed, 1.0)))
    entries = view.status.toolTip().removeprefix("<p>").removesuffix("</p>").split("<br/>")
    assert len(entries) <= TIP_LINES // 2 + 1 and entries[-1] == f"… and {1000 - TIP_MOST:,} more"
    assert sum(map(len, entries)) + len(entries) - 1 <= TIP_CHARS
    assert all(e.startswith("cell-") and ": unreachable: HTTP 502" in e for e in entries[:-1])
