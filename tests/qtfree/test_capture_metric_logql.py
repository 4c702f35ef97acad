"""An opened capture answers a metric LogQL query as live Loki does: series, not lines (the
Logs page, ``aiops-desktop logs``, the assistant's query_logs), each point the query's
function over its range, the window ``(t - range, t]`` at each step ``t = start + k * step``
(a point with no line in its window is left out, as Loki leaves it out); a query it cannot
compute is refused, never answered with a wrong number. Expected values are worked out by
hand from the small capture below."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from aiops_desktop.models.errors import UsageError
from aiops_desktop.models.observability import LogEntry
from aiops_desktop.services.outputs.recorded_logs import RecordedLogsTraces, RecordedLogsTracesDoc

T0 = datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
S0 = T0.timestamp()
SHOP = '{k8s_namespace_name="shop"} |= "ERROR"'
API1 = {"k8s_namespace_name": "shop", "k8s_pod_name": "api-1"}
API2 = {"k8s_namespace_name": "shop", "k8s_pod_name": "api-2"}
#: (seconds after T0, labels, line): UTF-8 bytes in the comments
LINES = [
    (-90, API1, "ERROR old"),  # 9: in a [2m] window at T0, not in a [1m] one
    (-30, API1, "ERROR a"),  # 7: before the start, in the first point's window
    (0, API1, "ERROR é"),  # 8 (é is 2 bytes)
    (30, API2, "ERROR €€"),  # 12 (€ is 3 bytes)
    (50, {"k8s_namespace_name": "other", "k8s_pod_name": "x"}, "ERROR x"),  # not selected
    (60, API1, "ERROR b"),  # 7: on a step, in that step's window, not the next one's
    (90, API2, "INFO ok"),  # filtered out
    (119, API1, "ERROR cc"),  # 8
    (120, API1, "ERROR end"),  # 9: at the end, in the last window (right-closed)
]


def _capture() -> RecordedLogsTraces:
    lines = [LogEntry(cluster="lab", timestamp_ns=(int(S0) + s) * 10**9, line=text, labels=labels)
             for s, labels, text in LINES]  # fmt: skip
    return RecordedLogsTraces(RecordedLogsTracesDoc(lines=lines), lambda: ["lab"])


def _counts(query: str, step_s: int, seconds: float = 120) -> dict[str, list[tuple[float, float]]]:
    """The series by pod (``*`` for a series without one), points relative to T0."""
    end = T0 + timedelta(seconds=seconds)
    series = asyncio.run(_capture().counts("lab", query, start=T0, end=end, step_s=step_s))
    return {s.labels.get("k8s_pod_name", "*"): [(round(t - S0, 3), v) for t, v in s.points]
            for s in series}  # fmt: skip


def test_count_over_time_counts_the_range_before_each_step_by_the_labels_summed() -> None:
    got = _counts(f"sum by (k8s_pod_name) (count_over_time({SHOP} [1m]))", 60)
    # api-1: (-60, 0] holds -30 and 0; (0, 60] holds 60; (60, 120] holds 119 and 120
    assert got == {"api-1": [(0, 2.0), (60, 1.0), (120, 2.0)], "api-2": [(60, 1.0)]}


def test_a_range_longer_than_the_step_is_a_sliding_window_open_on_the_left() -> None:
    got = _counts(f"count_over_time({SHOP} [2m])", 30)  # no sum: a series per stream
    # api-1 at -90, -30, 0, 60, 119, 120: (-120, 0] 3, (-90, 30] 2, (-60, 60] 3, (-30, 90] 2,
    # (0, 120] 3
    assert got == {"api-1": [(0, 3.0), (30, 2.0), (60, 3.0), (90, 2.0), (120, 3.0)],
                   "api-2": [(30, 1.0), (60, 1.0), (90, 1.0), (120, 1.0)]}  # fmt: skip
    series = asyncio.run(_capture().counts("lab", f"count_over_time({SHOP} [2m])", start=T0,
                                           end=T0 + timedelta(seconds=120), step_s=30))  # fmt: skip
    assert [s.labels for s in series] == [API1, API2], "a stream's own labels"


def test_rate_is_the_count_per_second_of_the_range() -> None:
    got = _counts(f"sum(rate({SHOP} [2m]))", 60)
    # all of shop's ERROR lines: (-120, 0] 3, (-60, 60] 4 (-30, 0, 30, 60), (0, 120] 4
    assert got == {"*": [(0, 3 / 120), (60, 4 / 120), (120, 4 / 120)]}


def test_bytes_over_time_sums_the_lines_utf8_bytes() -> None:
    got = _counts(f"sum(bytes_over_time({SHOP} [1m]))", 60)
    # (-60, 0]: 7 + 8; (0, 60]: 12 + 7; (60, 120]: 8 + 9
    assert got == {"*": [(0, 15.0), (60, 19.0), (120, 17.0)]}


def test_the_last_step_cut_short_is_the_next_steps_window_read_to_the_end() -> None:
    got = _counts(f"sum(count_over_time({SHOP} [1m]))", 60, seconds=119.5)
    # steps at 0 and 60, then the end: the window of 120, (60, 120], read to 119.5
    assert got == {"*": [(0, 2.0), (60, 2.0), (119.5, 1.0)]}


def test_a_metric_query_in_the_logs_answers_series_at_lokis_default_step() -> None:
    capture, query = _capture(), f"sum by (k8s_pod_name) (count_over_time({SHOP} [1m]))"
    end = T0 + timedelta(seconds=1000)  # Loki's default step: 1000 s / 250 = 4 s
    found = asyncio.run(capture.logs("lab", query, start=T0, end=end, limit=1000))
    assert found.entries == [] and found.series
    assert found.series == asyncio.run(capture.counts("lab", query, start=T0, end=end,
                                                      step_s=4))  # fmt: skip
    api1 = next(s for s in found.series if s.labels == {"k8s_pod_name": "api-1"})
    # (t - 60, t] on 4 s steps: -30 and 0 until 28 (-32, 28], 0 alone until 56, ...
    assert api1.points[:3] == [(S0, 2.0), (S0 + 4, 2.0), (S0 + 8, 2.0)]
    assert (S0 + 32, 1.0) in api1.points and (S0 + 56, 1.0) in api1.points


@pytest.mark.parametrize(("query", "step", "why"), [
    (SHOP, 60, "metric query"),  # lines have no counts
    (f"sum(bytes_rate({SHOP} [1m]))", 60, "cannot answer"),  # the parser does not know it
    (f"sum(count_over_time({SHOP} [1m]))", 0, "step"),
])  # fmt: skip
def test_what_the_capture_cannot_compute_is_refused(query: str, step: int, why: str) -> None:
    with pytest.raises(UsageError, match=why):
        _counts(query, step)


def test_more_points_than_loki_answers_are_refused() -> None:
    with pytest.raises(UsageError, match="11,000"):
        _counts(f"sum(count_over_time({SHOP} [1m]))", 1, seconds=4 * 3600)


def test_a_stream_with_no_line_in_any_window_is_no_series() -> None:
    # [1s] windows every 60 s: (-1, 0], (59, 60] and (119, 120] hold api-1's lines at 0, 60
    # and 120; api-2's line at 30 is in none
    got = _counts(f"sum by (k8s_pod_name) (count_over_time({SHOP} [1s]))", 60)
    assert got == {"api-1": [(0, 1.0), (60, 1.0), (120, 1.0)]}
