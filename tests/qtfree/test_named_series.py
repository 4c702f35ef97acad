"""Series named by their panel's legend, each kept: the dashboard's charts and the reports'
capacity charts read them through the same function."""

from __future__ import annotations

import numpy as np

from aiops_desktop.models.catalog import Panel
from aiops_desktop.services.outputs import reports
from aiops_desktop.services.polling.history import named_series


def test_series_whose_legends_read_alike_are_all_kept_and_named_apart() -> None:
    panel = Panel(id="node_cpu", title="CPU", promql="x", legend="{instance}")
    ts = np.array([1.0, 2.0])
    found = [
        ({"instance": "n1", "job": "node"}, ts, np.array([1.0, 1.0])),
        ({"instance": "n1", "job": "kubelet"}, ts, np.array([90.0, 95.0])),
        ({"instance": "n2", "job": "node"}, ts, np.array([5.0, 5.0])),
    ]
    named = named_series(panel, found)
    assert sorted(named) == ['n1 {job="kubelet"}', 'n1 {job="node"}', "n2"]
    assert list(named['n1 {job="kubelet"}'][1]) == [90.0, 95.0]


def test_the_reports_read_their_capacity_series_through_it() -> None:
    assert reports.named_series is named_series
