"""The GPU fleet heatmap and the PTP board with a backfilled fleet (real Prometheus hubs):
what an engineer sees, and screenshot references."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops_desktop.app import DesktopApp, save_screenshot
from aiops_desktop.models import ClusterKind, EndpointKind
from aiops_desktop.services.registry import ClusterSpec
from tests.ui.conftest import run_coro, run_until
from tests.ui.references import check_against_reference

pytestmark = pytest.mark.integration


def hub(name: str, url: str) -> ClusterSpec:
    return ClusterSpec(
        name=name, kind=ClusterKind.FLEET, endpoint_urls={EndpointKind.PROMETHEUS: url}
    )


def test_gpu_heatmap_and_ptp_board(
    desktop: DesktopApp, qtbot, gpu_hub, ptp_hub, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    core, window = desktop.core, desktop.window
    run_coro(qtbot, core.registry.add(hub("gpu-hub", gpu_hub.url)))
    run_coro(qtbot, core.registry.add(hub("ptp-hub", ptp_hub[0].url)))

    window.show_view("gpu")
    view = window.gpu
    run_until(qtbot, lambda: view.heatmap.rowCount() == 3, timeout=20)
    assert view.title.text() == "GPU fleet · 25 GPUs on 3 nodes · 2 critical, 1 warning"
    rows = [view.heatmap.verticalHeaderItem(r).text() for r in range(3)]
    assert rows == ["ai-lab / dgx-0", "ran-east / gpu-0", "ran-east / gpu-1"]
    assert view.heatmap.columnCount() == 8
    assert view.heatmap.item(1, 5).text() == "CRITICAL"  # 84 C
    assert view.heatmap.item(2, 3).text() == "CRITICAL"  # XID 79
    assert view.heatmap.item(0, 0).text() == "OK MIG"
    assert "XID 79 GPU has fallen off the bus" in view.heatmap.item(2, 3).toolTip()
    assert view.problems.rowCount() == 3
    view.metric.setCurrentText("Temperature")
    assert view.heatmap.item(1, 5).text() == "84 C"
    view.metric.setCurrentText("Utilisation")
    assert view.heatmap.item(1, 0).text() == "95%"
    view.metric.setCurrentText("Health")
    shot = save_screenshot(window, tmp_path / "gpu.png")
    check_against_reference(shot, "gpu_fleet.png", tolerance=14.0)

    window.show_view("ptp")
    board = window.ptp
    run_until(qtbot, lambda: board.table.rowCount() == 14, timeout=20)
    assert board.table.item(0, 0).text() == "FREERUN" and board.table.item(0, 2).text() == "du-2"
    assert board.table.item(0, 10).text() == "180"  # 3 minutes in HOLDOVER
    assert (
        board.table.item(1, 2).text() == "du-4"
        and "beyond +/-100 ns" in board.table.item(1, 13).text()
    )
    assert "2 need attention" in board.title.text()
    assert board.chart.curve_count == 1 and board.chart.curve("ran-east/du-2/ens1f0") is not None
    board.table.selectRow(1)  # the drifting port: its offset over the window, the band drawn
    curve = board.chart.curve("ran-west/du-4/ens1f0")
    assert curve is not None and board.chart.curve_count == 1
    _, ys = curve.getData()
    assert ys[0] < 100 < ys[-1] and board.band.getRegion() == (-100.0, 100.0)
    shot = save_screenshot(window, tmp_path / "ptp.png")
    check_against_reference(shot, "ptp_board.png", tolerance=14.0)
    window.show_view("fleet")  # the readers stop when their view is left
