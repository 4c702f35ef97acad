"""The GPU fleet heatmap and the PTP board with a backfilled fleet (real Prometheus hubs):
what an engineer sees, and screenshot references."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from aiops_desktop.app import DesktopApp
from aiops_desktop.models import ClusterKind, EndpointKind
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.qt_boot import save_screenshot
from tests.servers.processes import free_port
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
    run_until(qtbot, lambda: view.heatmap.rowCount() == 8, timeout=20)
    assert view.title.text() == "GPU fleet · 64 GPUs on 8 nodes · 2 critical, 3 warning"
    rows = [view.heatmap.verticalHeaderItem(r).text() for r in range(8)]
    assert rows == [
        "ai-lab / dgx-0", "ai-lab / dgx-1", "ai-lab / dgx-2", "ran-east / gpu-0",
        "ran-east / gpu-1", "ran-east / gpu-2", "ran-west / gpu-0", "ran-west / gpu-1",
    ]  # fmt: skip
    assert view.heatmap.columnCount() == 8
    assert view.heatmap.item(3, 5).text() == "CRITICAL"  # 84 C
    assert view.heatmap.item(4, 3).text() == "CRITICAL"  # XID 79
    assert view.heatmap.item(0, 0).text() == "OK MIG"
    assert view.heatmap.item(7, 2).text() == "WARNING"  # power-throttled
    assert "XID 79 GPU has fallen off the bus" in view.heatmap.item(4, 3).toolTip()
    assert view.problems.rowCount() == 5
    view.metric.setCurrentText("Temperature")
    assert view.heatmap.item(3, 5).text() == "84 C"
    view.metric.setCurrentText("Utilisation")
    assert view.heatmap.item(3, 0).text() == "95%"
    view.metric.setCurrentText("Health")
    shot = save_screenshot(window, tmp_path / "gpu.png")
    check_against_reference(shot, "gpu_fleet.png", tolerance=14.0)

    # click through: the hot GPU's last hour under the heatmap
    assert not view.detail.isVisible()
    rect = view.heatmap.visualItemRect(view.heatmap.item(3, 5))
    qtbot.mouseClick(view.heatmap.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.detail.isVisible() and view.detail.heading.text().startswith(
        "ran-east/gpu-0/gpu5 · NVIDIA H100 80GB HBM3 · CRITICAL"
    )
    temp = view.detail.charts["temperature_c"]
    run_until(qtbot, lambda: temp.curve_count == 1, timeout=20)
    _, values = temp.curve("ran-east/gpu-0/gpu5").getData()
    assert len(values) >= 19 and set(values) == {84.0}  # 40 samples of 15 s at a 30 s step
    power = view.detail.charts["power_w"].curve("ran-east/gpu-0/gpu5")
    assert power is not None and set(power.getData()[1]) == {145.0}
    assert not view.detail.charts["tensor_active_pct"].isVisible()  # not exported here
    shot = save_screenshot(window, tmp_path / "gpu-detail.png")
    check_against_reference(shot, "gpu_detail.png", tolerance=14.0)

    window.show_view("ptp")
    board = window.ptp
    run_until(qtbot, lambda: board.table.rowCount() == 14, timeout=20)
    assert board.table.item(0, 0).text() == "FREERUN" and board.table.item(0, 2).text() == "du-2"
    assert board.table.item(0, 10).text() == "180"  # 3 minutes in HOLDOVER
    gm = next(r for r in range(14) if board.table.item(r, 2).text() == "gm-1")
    assert board.table.item(gm, 5).toolTip() == (
        "GNSS 3D fix; DPLL phase locked, holdover acquired, frequency locked"
    )
    assert (
        board.table.item(1, 2).text() == "du-4"
        and "beyond +/-100 ns" in board.table.item(1, 14).text()  # Notes, after Restarts
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
    # the page's one range: the compliance window and the offset chart follow it
    assert board.title.text().endswith(", 1 h")
    board.time_range.select("15 min")
    run_until(qtbot, lambda: board.title.text().endswith(", 15 min"), timeout=20)
    assert core_ptp_window(desktop) == 900
    window.show_view("fleet")  # the readers stop when their view is left


def core_ptp_window(desktop: DesktopApp) -> int:
    return desktop.presenters.ptp.range.seconds


def test_gpu_fleet_keeps_its_data_badged_when_the_hub_goes_away(
    desktop: DesktopApp, qtbot, gpu_hub
) -> None:  # type: ignore[no-untyped-def]
    core, window = desktop.core, desktop.window
    run_coro(qtbot, core.registry.add(hub("gpu-hub", gpu_hub.url)))
    window.show_view("gpu")
    view = window.gpu
    run_until(qtbot, lambda: view.heatmap.rowCount() == 8, timeout=20)
    assert view.error.text() == ""
    dead = f"http://127.0.0.1:{free_port()}"
    run_coro(qtbot, core.registry.set_endpoint("gpu-hub", EndpointKind.PROMETHEUS, dead))
    desktop.window.presenters.gpu.refresh()
    run_until(qtbot, lambda: view.error.text().startswith("STALE: showing data from"), timeout=20)
    assert "gpu-hub" in view.error.text() and "unreachable" in view.error.text()
    assert view.heatmap.rowCount() == 8 and view.heatmap.item(3, 5).text() == "CRITICAL"
    run_coro(qtbot, core.registry.set_endpoint("gpu-hub", EndpointKind.PROMETHEUS, gpu_hub.url))
    desktop.window.presenters.gpu.refresh()
    run_until(qtbot, lambda: view.error.text() == "", timeout=20)  # recovered by itself
    # asked again while a read runs: it reads once more when that read ends (not 30 s later)
    reads: list[object] = []
    presenter = desktop.window.presenters.gpu
    presenter.sig_fleet.connect(reads.append)
    presenter.refresh()
    presenter.refresh()
    run_until(qtbot, lambda: len(reads) == 2, timeout=10)
    window.show_view("fleet")


def test_a_gpus_last_hour_inside_the_sample_capture(qtbot, qloop, theme, secret_service) -> None:  # type: ignore[no-untyped-def]
    """Offline, the click-through draws what the capture holds for that GPU (the poller's
    utilisation and temperature series) and says so."""
    from aiops_desktop.secrets import SecretStore
    from aiops_desktop.services.outputs.capture import open_capture
    from aiops_desktop.settings import resources_dir

    core = open_capture(
        resources_dir() / "samples" / "sample.aiops", SecretStore(secret_service.backend())
    )
    app = DesktopApp(core, theme)
    app.window.resize(1280, 800)
    app.window.show()
    run_coro(qtbot, app.load())
    try:
        app.window.show_view("gpu")
        view = app.window.gpu
        run_until(qtbot, lambda: view.heatmap.rowCount() == 8, timeout=20)
        rect = view.heatmap.visualItemRect(view.heatmap.item(3, 5))  # ran-east/gpu-0, 84 C
        qtbot.mouseClick(view.heatmap.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        temp = view.detail.charts["temperature_c"]
        run_until(qtbot, lambda: temp.curve_count == 1, timeout=20)
        _, values = temp.curve("ran-east/gpu-0/gpu5").getData()
        assert len(values) >= 100 and set(values) == {84.0}
        assert view.detail.heading.text().endswith("· recorded utilisation and temperature")
        assert view.detail.charts["power_w"].curve_count == 0  # not recorded: nothing drawn
        # the page's range: the chosen GPU's charts are read again over the last 15 min
        view.time_range.select("15 min")
        run_until(qtbot, lambda: len(temp.curve("ran-east/gpu-0/gpu5").getData()[1]) < len(values))
        ts, shorter = temp.curve("ran-east/gpu-0/gpu5").getData()
        assert ts[-1] - ts[0] <= 900 and len(shorter) <= len(values) / 3
        app.window.show_view("fleet")
    finally:
        run_coro(qtbot, app.close())
