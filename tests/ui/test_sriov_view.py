"""The SR-IOV view: node sync state from the operator's objects (kmock API) and VF rates with
their pods from a real Prometheus fleet hub."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops_desktop.app import DesktopApp, save_screenshot
from tests.ui.conftest import add_hub_and_site, run_until
from tests.ui.references import check_against_reference

pytestmark = pytest.mark.integration


def test_sriov_view_shows_failed_sync_and_the_dropping_vf(
    desktop: DesktopApp, qtbot, sriov_hub, kube_api, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    core, window = desktop.core, desktop.window
    add_hub_and_site(qtbot, core, sriov_hub.url, kube_api, hub="ran-hub", site="ran-east")
    window.show_view("sriov")
    view = window.sriov
    run_until(qtbot, lambda: view.vfs.rowCount() == 12 and view.nodes.rowCount() == 2, timeout=20)
    first = [view.vfs.item(0, c).text() for c in range(view.vfs.columnCount())]
    assert first[:6] == ["ran-east", "worker-0", "ens1f0", "2", "0000:3b:02.2", "ran-du/du-l1-2"]
    # rate() over 5 m near the end of the data extrapolates a little: 50 drops/s, 375 Mbit/s
    assert 40 < float(first[8]) <= 50 and 330 < float(first[6]) <= 375
    assert all(view.vfs.item(r, 8).text() == "0.0" for r in range(1, 12))
    assert [view.nodes.item(0, c).text() for c in range(3)] == ["ran-east", "gpu-1", "Failed"]
    assert view.nodes.item(0, 4).text() == "failed to configure VFs"
    assert view.title.text() == (
        "SR-IOV · 2 nodes, 1 not synced · 12 VFs in pods, 1 dropping or erroring"
    )
    shot = save_screenshot(window, tmp_path / "sriov.png")
    check_against_reference(shot, "sriov.png", tolerance=14.0)
    window.show_view("fleet")
