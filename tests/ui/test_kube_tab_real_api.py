"""The Kubernetes tab in the window, against a real API (kmock behind nginx): a cluster whose
credential may read nothing but namespaces, shown after one that reads everything, lists none
of the first one's nodes, pods or identity; its nodes and pods say they were not read, and its
Events tab says the events watch is not live, with the API server's 403, instead of an empty,
quiet timeline."""

from __future__ import annotations

import pytest

from aiops_desktop.app import DesktopApp
from aiops_desktop.models import EndpointKind
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from tests.servers.kube_api import RunningKubeApi
from tests.servers.processes import free_port
from tests.ui.conftest import run_coro, run_until

pytestmark = pytest.mark.integration


def test_a_cluster_that_may_read_nothing_shows_nothing_of_the_last_and_says_why(
    desktop: DesktopApp, qtbot, kube_api: RunningKubeApi
) -> None:  # type: ignore[no-untyped-def]
    core, window = desktop.core, desktop.window
    dead = f"http://127.0.0.1:{free_port()}"  # typed in: discovery keeps them
    for name, token in (("ran-east", "viewer-token"), ("ran-intern", "limited-token")):
        spec = ClusterSpec(
            name=name, api_server_url=kube_api.url, ca_bundle_pem=kube_api.ca_pem,
            endpoint_urls={EndpointKind.PROMETHEUS: dead, EndpointKind.ALERTMANAGER: dead},
        )  # fmt: skip
        run_coro(qtbot, core.registry.add(spec, ClusterSecrets(token=token)))
    run_until(qtbot, lambda: {"ran-east", "ran-intern"} <= {c.name for c in window._clusters})

    window.show_view("details:ran-east")
    view = window.kube
    run_until(qtbot, lambda: view.nodes.table.rowCount() == 4)
    run_until(qtbot, lambda: view.fields["User"].text() == "noc-viewer")
    run_until(qtbot, lambda: view.tabs.tabText(2).startswith("Events (3"))
    assert view.read_at.text().startswith("nodes and pods read ")
    assert view.events_note.isHidden()  # live

    window.show_view("details:ran-intern")
    assert window.cluster_page.currentWidget() is view
    run_until(qtbot, lambda: view.read_at.text() == "nodes and pods: not read")
    assert view.nodes.table.rowCount() == 0 and view.pods.table.rowCount() == 0
    assert view.tabs.tabText(0) == "Nodes" and view.tabs.tabText(1) == "Pods"
    assert "403" in view.read_at.toolTip()
    run_until(qtbot, lambda: view.fields["User"].text() == "intern")
    assert not view.fields["Access"].text().startswith("VALID")
    note = view.events_note
    run_until(qtbot, lambda: note.text().startswith("events not live: "), timeout=15)
    assert "403" in note.text() and "events is forbidden" in note.text()
    assert view.tabs.tabText(2) == "Events (0, 0 warnings, not live)"
    view.tabs.setCurrentWidget(view.events)
    assert note.isVisible() and view.events.table.rowCount() == 0

    window.show_cluster("ran-intern")  # leaving the page stops its events watch
    run_until(qtbot, lambda: "events-ran-intern" not in core.supervisor.names())
