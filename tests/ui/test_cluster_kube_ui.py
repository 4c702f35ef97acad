"""The Kubernetes page of a cluster against a real API (kmock behind nginx): access, nodes,
pods, events, filters, and a screenshot reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops_desktop.app import DesktopApp
from aiops_desktop.models import EndpointKind
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.qt_boot import save_screenshot
from tests.servers.kube_api import RunningKubeApi
from tests.servers.processes import free_port
from tests.ui.conftest import run_coro, run_until
from tests.ui.references import check_against_reference

pytestmark = pytest.mark.integration


def test_kubernetes_page_shows_access_nodes_pods_and_events(
    desktop: DesktopApp, qtbot, kube_api: RunningKubeApi, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    core = desktop.core
    dead = f"http://127.0.0.1:{free_port()}"  # typed by the user: discovery keeps them
    spec = ClusterSpec(
        name="ran-east", display_name="RAN east", api_server_url=kube_api.url,
        ca_bundle_pem=kube_api.ca_pem,
        endpoint_urls={EndpointKind.PROMETHEUS: dead, EndpointKind.ALERTMANAGER: dead},
    )  # fmt: skip
    run_coro(qtbot, core.registry.add(spec, ClusterSecrets(token="viewer-token")))
    window = desktop.window
    run_until(qtbot, lambda: any(c.name == "ran-east" for c in window._clusters))
    window.show_view("details:ran-east")
    view = window.kube
    assert window.cluster_page.currentWidget() is view
    run_until(qtbot, lambda: view.nodes.table.rowCount() == 4)
    run_until(qtbot, lambda: view.tabs.tabText(2).startswith("Events (3"))
    assert view.events.table.rowCount() == 0  # a hidden events tab is not drawn ...
    view.tabs.setCurrentWidget(view.events)  # ... until it is opened
    assert view.events.table.rowCount() >= 3
    run_until(qtbot, lambda: view.access.table.rowCount() == 15)

    assert view.fields["Access"].text().startswith("VALID — noc-viewer on v1.29.8+f10c92d")
    assert view.fields["User"].text() == "noc-viewer"
    assert view.tabs.tabText(0) == "Nodes (4, 1 not ready)"
    assert view.nodes.table.item(0, 0).text() == "gpu-1"  # the NotReady node leads
    assert view.tabs.tabText(1).endswith("3 with a problem)")
    assert view.pods.table.item(0, 1).text() == "du-l1-0"
    assert view.pods.table.item(0, 7).text() == "CrashLoopBackOff (last exit code 137, OOMKilled)"
    assert view.events.table.item(0, 2).text() == "BackOff"  # newest first
    denied = view.access.table.item(0, 0).text()
    assert view.access.table.item(0, 1).text() == "no" and denied != "list nodes"

    view.problems_only.setChecked(True)
    assert view.pods.table.rowCount() == 3
    view.pods.filter.setText("nrf")
    assert view.pods.visible_rows() == 1
    view.warnings_only.setChecked(True)
    assert [view.events.table.item(r, 1).text() for r in range(view.events.table.rowCount())] == [
        "Warning", "Warning",
    ]  # fmt: skip
    view.warnings_only.setChecked(False)
    view.pods.filter.setText("")
    view.problems_only.setChecked(False)

    view.tabs.setCurrentWidget(view.pods)
    shot = save_screenshot(window, tmp_path / "kube.png")
    check_against_reference(shot, "cluster_kubernetes.png", tolerance=14.0)
    # a double click on a pod: its logs (this cluster has no Loki: the page says so)
    view.pods.table.cellDoubleClicked.emit(0, 1)
    logs = window.logs
    assert window.stack.currentWidget() is logs
    assert (
        'k8s_pod_name="du-l1-0"' in logs.editor.text() and logs.cluster.currentText() == "ran-east"
    )
    run_until(qtbot, lambda: "ran-east has no Loki endpoint" in logs.error.text())
    window.show_view("details:ran-east")

    # discovery ran by itself after registration; the Details tab says what it found
    caps = window.overview.fields["Capabilities"]
    run_until(qtbot, lambda: caps.text().startswith("16 GPUs on 2 nodes"))
    assert "CNF vDU/AMF/other" in caps.text() and "VANISHED" not in caps.text()
    assert core.registry.get("ran-east").endpoint(EndpointKind.PROMETHEUS).url == dead
    window.cluster_page.setCurrentWidget(window.overview)
    ends = window.overview.endpoints
    run_until(qtbot, lambda: ends.item(0, 4) is not None and ends.item(0, 4).text() == "up")
    assert [ends.item(r, 0).text() for r in range(ends.rowCount())] == [
        "API_SERVER", "PROMETHEUS", "ALERTMANAGER",
    ]  # fmt: skip
    assert ends.item(1, 3).text() == "USER" and ends.item(1, 4).text() == "DOWN"
    shot = save_screenshot(window, tmp_path / "details.png")
    check_against_reference(shot, "cluster_details.png", tolerance=14.0)

    window.show_cluster("ran-east")  # leaving the page stops its events watch
    run_until(qtbot, lambda: "events-ran-east" not in core.supervisor.names())
