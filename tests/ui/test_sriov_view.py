"""The SR-IOV view: node sync state from the operator's objects (kmock API) and VF rates with
their pods from a real Prometheus fleet hub."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops_desktop.app import DesktopApp
from aiops_desktop.qt_boot import save_screenshot
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
    run_until(
        qtbot,
        lambda: (
            view.vfs.rowCount() == 12
            and view.nodes.rowCount() == 2
            and view.workloads.rowCount() > 0
        ),
        timeout=20,
    )

    def row(table, r: int) -> list[str]:  # type: ignore[no-untyped-def]
        return [table.item(r, c).text() for c in range(table.columnCount())]

    first = row(view.vfs, 0)
    assert first[:6] == ["ran-east", "worker-0", "ens1f0", "2", "0000:3b:02.2", "du-site1/du-l1-2"]
    assert first[6] == "375.0" and first[8] == "50.0"  # Mbit/s, drops/s
    assert all(view.vfs.item(r, 8).text() == "0.0" for r in range(1, 12))
    assert row(view.nodes, 0)[:3] == ["ran-east", "gpu-1", "Failed"]
    assert view.nodes.item(0, 4).text() == "failed to configure VFs"
    assert row(view.nodes, 1)[3] == (
        "ens1f0 8/64 VFs · 25000 Mb/s · MTU 9000 · mlx5_core (15b3:1017) 0000:3b:00.0"
    )
    assert view.title.text() == ("SR-IOV · 1 of 2 nodes not synced · 1 VF and 1 DPDK port dropping")
    assert view.tabs.tabText(0) == "VFs (12 in pods, 8 configured)"
    shot = save_screenshot(window, tmp_path / "sriov.png")
    check_against_reference(shot, "sriov.png", tolerance=14.0)

    assert view.ports.rowCount() == 3
    assert row(view.ports, 0)[:4] == ["ran-east", "worker-0", "du-site1/du-l1-0", "1"]
    assert row(view.ports, 0)[8] == "120.0" and row(view.ports, 0)[4] == "1500.0"  # kpps
    # the metrics' pods and the API's labelled pods (du-0, amf-0, smf-0 on ran-east)
    workloads = [row(view.workloads, r)[:4] for r in range(view.workloads.rowCount())]
    assert ["vDU", "ran-east", "du-site1", "du-l1-0"] in workloads
    assert ["vDU", "ran-east", "du-site1", "du-0"] in workloads
    assert ["vCU", "ran-west", "cu-site1", "cu-1"] in workloads
    assert ["UPF", "ran-west", "upf-core", "upf-0"] in workloads
    assert ["AMF", "ran-east", "core-5g", "amf-0"] in workloads
    # with the unlabelled pods of the CNF namespaces (ran-du: other)
    assert view.tabs.tabText(2) == "CNF workloads (9 vDU, 4 vCU, 1 UPF, 1 AMF, 1 SMF, 2 other)"
    assert row(view.networks, 0) == ["ran-east", "du-fronthaul", "du_fh", "du-site1", "100",
                                     "off", "on"]  # fmt: skip
    view.tabs.setCurrentIndex(2)
    shot = save_screenshot(window, tmp_path / "cnf.png")
    check_against_reference(shot, "cnf_workloads.png", tolerance=14.0)
    window.show_view("fleet")
