"""A window beside the wall that runs the cache's live detection (``one_per_cache``) runs no
live round and hears of no finding: its dashboard marks what the wall finds, read again from
the cache as it refreshes."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from aiops_desktop.models.anomalies import AnomalyMarker
from aiops_desktop.services.polling.catalog import load_catalog
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.qtfree.test_anomalies_review3 import GPU, App
from tests.qtfree.test_fleet_truth_failures import Registry, cluster
from tests.ui.conftest import run_coro, run_until
from ui.presenters.dashboard import DashboardPresenter

pytestmark = pytest.mark.qt

PANEL = "gpu_temperature"


def test_a_waiting_windows_chart_marks_what_the_wall_finds(tmp_path: Path, qloop, qtbot) -> None:  # type: ignore[no-untyped-def]
    """The window shows "east" (no marker yet); the wall finds a GPU at 92 C and stores it:
    the window's chart marks it, CRITICAL (its markers were read once, when first shown)."""
    wall, window = App(tmp_path), App(tmp_path)
    tasks = TaskSupervisor()
    poller = SimpleNamespace(status={}, unsupported=set(), member_seen={}, hub_age_s=lambda _: None)
    presenter = DashboardPresenter(
        registry=Registry([cluster("east")]), poller=poller, live=window.live,  # type: ignore[arg-type]
        anomalies=window.svc, catalog=load_catalog(), bus=EventBus(), tasks=tasks,
        redraw_ms=50,
    )  # fmt: skip
    presenter.MARKERS_REFRESH_S = 0.2
    marked: list[list[AnomalyMarker]] = []

    def mark(panel: str, found: list[AnomalyMarker]) -> None:
        if panel == PANEL:
            marked.append(found)

    presenter.sig_panel_anomalies.connect(mark)
    try:
        presenter.show_cluster("east")
        run_until(qtbot, lambda: bool(marked))
        assert marked[-1] == []
        step, n = 15.0, 400
        ts = time.time() // step * step - n * step + np.arange(n) * step
        temp = np.full(n, 55.0)
        temp[-5:] = 92.0
        run_coro(qtbot, wall.poll(PANEL, GPU, ts, temp))
        window.live.append("east", PANEL, GPU, ts, temp)  # the window polls the same
        run_coro(qtbot, wall.svc.analyse_live(force=True))  # the wall's round: stored
        assert not window.svc.detecting
        run_until(qtbot, lambda: bool(marked[-1]), 10)
        (marker,) = marked[-1]
        assert (marker.level, marker.value) == ("critical", 92.0)
    finally:
        presenter.close()
        run_until(qtbot, lambda: tasks.running == 0)
        wall.close()
        window.close()
