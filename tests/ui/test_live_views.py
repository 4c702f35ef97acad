"""The live views with real data from real Prometheus and Alertmanager servers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from aiops_desktop.app import DesktopApp
from aiops_desktop.models import AlertSeverity, ClusterKind, ClusterType, EndpointKind
from aiops_desktop.models.fleet import HEALTH_RANK, Health
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.qt_boot import save_screenshot
from tests.servers.processes import free_port
from tests.ui.conftest import run_coro, run_until
from tests.ui.references import check_against_reference

pytestmark = [pytest.mark.qt, pytest.mark.integration]
PROM, AM = EndpointKind.PROMETHEUS, EndpointKind.ALERTMANAGER


@pytest.fixture
def live_fleet(
    desktop: DesktopApp, qtbot, member_prometheus, prometheus, alertmanager
) -> DesktopApp:  # type: ignore[no-untyped-def]
    alertmanager.post_alerts(
        [
            {
                "labels": {
                    "alertname": "KubePodCrashLooping",
                    "severity": "critical",
                    "cluster": "east-1",
                    "namespace": "ran-du",
                }
            },
            {"labels": {"alertname": "NodeHighCPU", "severity": "warning", "cluster": "east-1"}},
        ]
    )
    registry = desktop.core.registry
    specs = [
        ClusterSpec(name="east-1", display_name="East 1 (RAN core)", cluster_type=ClusterType.HUB,
                    endpoint_urls={PROM: member_prometheus["east-1"].url, AM: alertmanager.url}),
        ClusterSpec(name="west-2", endpoint_urls={PROM: member_prometheus["west-2"].url}),
        ClusterSpec(name="dark-9", cluster_type=ClusterType.FAR_EDGE,
                    endpoint_urls={PROM: f"http://127.0.0.1:{free_port()}"}),
        ClusterSpec(name="acm-hub", kind=ClusterKind.FLEET, endpoint_urls={PROM: prometheus.url}),
    ]  # fmt: skip
    for spec in specs:
        run_coro(qtbot, registry.add(spec))
    run_coro(qtbot, desktop.first_poll())
    run_until(qtbot, lambda: "east-1" in desktop.core.poller.alerts)
    # a cluster the CLI adds while the window runs is taken in (registry.adopt_added)
    assert "clusters-added" in desktop.core.supervisor.names()
    desktop.window.resize(1400, 900)
    return desktop


def test_fleet_overview_tiles_and_screenshot(live_fleet: DesktopApp, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = live_fleet.window
    window.show_view("fleet")
    run_coro(qtbot, live_fleet.core.fleet.refresh())  # its findings read now, not in 30 s
    live_fleet.presenters.fleet.refresh()
    tiles = live_fleet.presenters.fleet.tiles()
    names = [t.name for t in tiles]
    assert set(names) == {"dark-9", "east-1", "west-2", "edge-7"}  # edge-7 arrives via the hub
    ranks = [HEALTH_RANK[Health(t.state)] for t in tiles]
    assert ranks == sorted(ranks)  # worst first
    by_name = {t.name: t for t in tiles}
    assert by_name["dark-9"].state == "OFFLINE" and by_name["dark-9"].stale
    assert by_name["edge-7"].via_hub == "acm-hub"
    east = by_name["east-1"]
    # a firing critical alert (KubeNodeNotReady) makes it CRITICAL, its endpoints all healthy
    assert east.state == "CRITICAL" and east.health_score is not None and not east.stale
    assert east.health_score < 100 and east.findings.startswith("alerts ")
    assert east.alerts.get(AlertSeverity.CRITICAL, 0) >= 1
    # the tile and `fleet --json` read the same truth
    truth = live_fleet.core.fleet.snapshot().get("east-1")
    assert truth is not None and truth.state.value == east.state
    assert truth.health_score == east.health_score and truth.summary() == east.findings
    assert east.spark is not None and east.spark_title == "Node CPU"
    assert np.nanmax(east.spark[1]) < 100 and np.nanmin(east.spark[1]) > 0
    qtbot.wait(300)
    shot = save_screenshot(window, tmp_path / "fleet.png")
    check_against_reference(shot, "fleet.png", tolerance=12.0)
    visible = [t for t in window.fleet.tiles if t.isVisible()]
    assert len(visible) == 4
    dark = next(t for t in visible if t.title.text() == "dark-9")
    assert "STALE" in dark.freshness.text() and dark.state.text() == "✖ OFFLINE"  # its shape too


def test_cluster_dashboard_charts_and_screenshot(
    live_fleet: DesktopApp, qtbot, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window = live_fleet.window
    window.show_cluster("east-1")
    run_until(qtbot, lambda: window.dashboard.charts["node_cpu"].curve_count == 2)
    cpu = window.dashboard.charts["node_cpu"]
    curve = cpu.curve("east-1-node-0:9100")
    assert curve is not None
    xs, ys = curve.getData()
    assert xs.size > 60 and 20 < float(np.nanmean(ys)) < 50  # base 25 % load, +-8 %
    readout = dict(cpu.readout_at(float(xs[-1])))
    assert set(readout) == {"east-1-node-0:9100", "east-1-node-1:9100"}
    assert window.dashboard.charts["apiserver_rate"].curve_count == 3  # codes 200, 404, 500
    assert window.dashboard.charts["pods_running"].curve_count == 3
    assert "STALE" not in window.dashboard.freshness.text()
    shot = save_screenshot(window, tmp_path / "cluster.png")
    check_against_reference(shot, "cluster_east-1.png", tolerance=14.0)
    live_fleet.presenters.dashboard.set_paused(True)
    version = live_fleet.core.live.version
    live_fleet.core.live.append(
        "east-1",
        "node_cpu",
        {"instance": "east-1-node-0:9100"},
        np.array([xs[-1] + 30]),
        np.array([99.0]),
    )
    qtbot.wait(700)
    assert cpu.curve("east-1-node-0:9100").getData()[0].size == xs.size  # paused: not redrawn  # type: ignore[union-attr]
    assert live_fleet.core.live.version > version
    live_fleet.presenters.dashboard.set_paused(False)

    def drawn() -> bool:  # unpaused: redrawn with it (a poll may have added its own since)
        new_xs, new_ys = cpu.curve("east-1-node-0:9100").getData()  # type: ignore[union-attr]
        return bool(np.any((new_xs == xs[-1] + 30) & (new_ys == 99.0)))

    run_until(qtbot, drawn)


def test_a_dashboard_shown_again_reuses_its_charts_and_drops_the_last_clusters_data(
    live_fleet: DesktopApp, qtbot, alertmanager
) -> None:  # type: ignore[no-untyped-def]
    """Charts are made once (17 of them froze the window 0.4 s each time a cluster followed
    one with other endpoints); a chart shown for another cluster holds nothing of the last."""
    window = live_fleet.window
    spec = ClusterSpec(name="am-only", endpoint_urls={AM: alertmanager.url})
    run_coro(qtbot, live_fleet.core.registry.add(spec))
    window.show_cluster("east-1")
    run_until(qtbot, lambda: window.dashboard.charts["node_cpu"].curve_count == 2)
    cpu = window.dashboard.charts["node_cpu"]
    window.show_cluster("am-only")  # no Prometheus: no charts
    assert window.dashboard.charts == {} and window.dashboard.no_charts.isVisible()
    assert not cpu.isVisible()
    window.show_cluster("west-2")
    assert window.dashboard.charts["node_cpu"] is cpu and cpu.isVisible()
    assert cpu.curve("east-1-node-0:9100") is None  # east-1's data is gone at once
    run_until(qtbot, lambda: cpu.curve_count == 2)
    assert all(cpu.curve(f"west-2-node-{i}:9100") is not None for i in (0, 1))


def test_alerts_and_diagnostics_views(live_fleet: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = live_fleet.window
    window.show_view("alerts")
    live_fleet.presenters.alerts.refresh()
    table = window.alerts.table
    assert table.item(0, 0).text() == "CRITICAL"
    rows = {table.item(r, 2).text(): r for r in range(table.rowCount())}
    assert "KubePodCrashLooping" in rows and "NodeHighCPU" in rows
    alerts = window.alerts
    assert not alerts.rca_button.isEnabled()
    table.selectRow(rows["KubePodCrashLooping"])
    qtbot.mouseClick(alerts.rca_button, Qt.MouseButton.LeftButton)  # its cluster, then
    incidents = window.page("incidents")
    run_until(qtbot, lambda: incidents.rca.summary.text().startswith("Root cause analysis of"))
    assert window.stack.currentWidget() is incidents
    window.show_view("diagnostics")
    live_fleet.presenters.diagnostics.refresh()
    diag = window.diagnostics.table
    cells = {(diag.item(r, 0).text(), diag.item(r, 1).text()): r for r in range(diag.rowCount())}
    dark = cells[("dark-9", "metrics")]
    assert "unreachable" in diag.item(dark, 8).text()
    assert int(diag.item(cells[("east-1", "metrics")], 5).text()) == 0
    # a panel whose live detection fails is said here (it is skipped, the others judged)
    live_fleet.core.anomalies.failed[("east-1", "gpu_util")] = "ValueError: chunk data bad"
    live_fleet.presenters.diagnostics.refresh()
    cells = {(diag.item(r, 0).text(), diag.item(r, 1).text()): r for r in range(diag.rowCount())}
    failing = cells[("east-1", "anomaly detection of gpu_util")]
    assert diag.item(failing, 8).text() == "ValueError: chunk data bad"
    live_fleet.core.anomalies.failed.clear()


def test_console_runs_across_clusters_and_keeps_history(live_fleet: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = live_fleet.window
    window.show_view("console")
    console = window.console
    assert sorted(console.clusters.item(i).text() for i in range(console.clusters.count())) == [
        "acm-hub", "dark-9", "east-1", "west-2",
    ]  # fmt: skip
    console.editor.setPlainText("node_load1")
    console.run_button.click()
    run_until(qtbot, lambda: "PARTIAL" in console.status.text())
    assert "dark-9: unreachable" in console.status.text()
    clusters = {console.table.item(r, 0).text() for r in range(console.table.rowCount())}
    assert clusters == {"east-1", "west-2", "edge-7"}  # the hub answers for its members
    # 2 + 2 from the members themselves, 2 of edge-7 through the hub: the hub's copies of the
    # members asked themselves are not taken twice (a SUM over them was doubled)
    assert console.table.rowCount() == 6
    run_until(qtbot, console.run_button.isEnabled)  # the first run has finished
    console.editor.setPlainText("sum(node_load1)")
    console.mode.setCurrentText("Range 15 min")
    console.aggregation.setCurrentText("SUM")
    console.run_button.click()
    run_until(qtbot, lambda: console.chart.curve_count == 1)
    assert console.results.currentWidget() is console.chart
    run_until(qtbot, lambda: console.history.count() >= 2)
    assert "sum(node_load1)" in console.history.item(0).text()
    records = run_coro(qtbot, live_fleet.core.console.history())
    assert [r.promql for r in records[:2]] == ["sum(node_load1)", "node_load1"]
    assert records[0].range_s == 900 and records[1].status == "PARTIAL"
    console.history.itemDoubleClicked.emit(console.history.item(1))
    assert console.editor.toPlainText() == "node_load1" and console.mode.currentText() == "Instant"


def test_a_hub_member_is_a_cluster_in_the_sidebar_details_and_kubernetes_tab(
    live_fleet: DesktopApp, qtbot
) -> None:  # type: ignore[no-untyped-def]
    window = live_fleet.window
    run_coro(qtbot, live_fleet.core.fleet.refresh())  # published: the sidebar follows
    listed = window.cluster_list.list
    texts = [listed.item(i).text() for i in range(listed.count())]
    hub = next(i for i, t in enumerate(texts) if t.startswith("acm-hub"))
    assert texts[hub + 1].startswith("  ↳ edge-7")  # under its hub, with its own state
    east = next(t for t in texts if t.startswith("East 1"))
    assert "CRITICAL" in east  # the truth's state, not the registry's ONLINE
    window.show_cluster("edge-7")
    overview = window.overview
    assert overview.title.text() == "edge-7" and overview.remove_button.isHidden()
    assert overview.fields["Type"].text().startswith("member cluster")
    assert "acm-hub" in overview.fields["Type"].text()
    window.cluster_page.setCurrentWidget(window.kube)  # was: an uncaught ClusterNotFoundError
    run_until(
        qtbot, lambda: "no API server registered for this member" in window.kube.status.text()
    )
    window.show_cluster("east-1")
    assert not overview.remove_button.isHidden()
