"""A span's tooltip keeps its duration, status and error whatever its names hold: a span named
with a multi-line SQL statement (as database instrumentations name them) filled the tooltip's
lines, and its status and error were cut away."""

from __future__ import annotations

from typing import Any

import pytest

from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.observability import Span, SpanEvent
from ui.views.traces_view import WaterfallView

pytestmark = pytest.mark.qt
SQL = "SELECT o.id,\n" + "".join(f"       o.col{i},\n" for i in range(45)) + "FROM orders o"


def test_a_multi_line_span_name_leaves_the_status_and_error_shown(qtbot: Any) -> None:
    event = SpanEvent(timestamp_ns=1, name="exception\n" * 50,
                      attributes={"exception.message": "pq: deadlock on orders"})  # fmt: skip
    span = Span(trace_id="a" * 32, span_id="b" * 16, service_name="orders-db\n" * 50,
                operation=SQL, start_ns=0, duration_ns=5_000_000_000, status=SpanStatus.ERROR,
                status_message="deadlock detected", events=[event])  # fmt: skip
    shown = WaterfallView.tip(span)
    assert "status ERROR" in shown and "deadlock detected" in shown
    assert "pq: deadlock on orders" in shown
    assert "SELECT o.id, o.col0," in " ".join(shown.split())  # the name on a line of its own
