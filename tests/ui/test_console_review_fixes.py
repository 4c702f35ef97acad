"""The console presenter after the query review: a cluster's warnings (a partial response) and
the answer's notes (a coarser step) are lines beside the answer; last values are whole."""

from __future__ import annotations

import numpy as np
import pytest

from aiops_desktop.models import QueryStatus
from aiops_desktop.models.metrics import (
    ClusterOutcome,
    MetricQuery,
    PromSeries,
    QueryAnswer,
    TaggedSeries,
)
from ui.presenters.console import to_result

pytestmark = pytest.mark.qt
PARTIAL = "No StoreAPIs matched for this query: store eu-west-3 unavailable, partial response"


def _answer() -> QueryAnswer:
    series = [
        TaggedSeries("east-1", PromSeries({"__name__": n}, np.array([1.7e9]), np.array([v])))
        for n, v in (("a", 1234567.0), ("b", 1234568.0), ("c", 17179869184.0), ("d", np.nan))
    ]
    outcomes = [ClusterOutcome("east-1", True, 1.0, series=4, warnings=[PARTIAL])]
    return QueryAnswer(MetricQuery(promql="up"), QueryStatus.PARTIAL, series, outcomes, 1.0,
                       notes=["read at a step of 63s"])  # fmt: skip


def test_last_values_are_shown_whole() -> None:
    """1234567 and 1234568 both read "1.23457e+06"."""
    assert [row[2] for row in to_result(_answer()).rows] == [
        "1234567", "1234568", "17179869184", "NaN"
    ]  # fmt: skip


def test_warnings_and_notes_are_said_beside_the_answer() -> None:
    result = to_result(_answer())
    assert result.status == "PARTIAL"
    assert ("east-1", f"warning: {PARTIAL}") in result.failures
    assert ("", "read at a step of 63s") in result.failures
