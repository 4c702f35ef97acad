"""The widgets of the main window's pages, each built (and wired to its presenter) the first
time it is shown: the window's first frame needs none of them, and charts (pyqtgraph) load
with the first page that draws one."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtWidgets import QTabWidget, QWidget

from aiops_desktop.services.runtime.access import Action
from ui.presenters import Presenters
from ui.theme import Theme

if TYPE_CHECKING:
    from ui.views.cluster_kube import ClusterKubeView
    from ui.views.cluster_overview import ClusterOverviewView
    from ui.views.dashboard_view import DashboardView


class PageHost(Protocol):
    """What the pages ask of the window that holds them."""

    def show_cluster(self, name: str) -> None: ...
    def confirm_remove(self, name: str) -> None: ...
    def on_cluster_tab_changed(self, index: int) -> None: ...
    def open_anomaly(self, cluster: str, panel: str, at: float) -> None: ...
    def show_view(self, name: str) -> None: ...
    def analyse_at(self, cluster: str, at: float) -> None: ...
    def open_logs(
        self, cluster: str, labels: dict[str, str], at: float, errors_only: bool = False
    ) -> None: ...
    def open_trace(self, cluster: str, trace_id: str) -> None: ...
    def open_traces(self, cluster: str, service: str, at: float) -> None: ...
    def open_report_dialog(self) -> Any: ...


class ClusterPage(QTabWidget):
    """One cluster: its dashboard, its details and its Kubernetes page, as tabs."""

    def __init__(
        self, dashboard: DashboardView, overview: ClusterOverviewView, kube: ClusterKubeView
    ) -> None:
        super().__init__()
        self.dashboard, self.overview, self.kube = dashboard, overview, kube
        self.addTab(dashboard, "Dashboard")
        self.addTab(overview, "Details")
        self.addTab(kube, "Kubernetes")


def cluster_page(p: Presenters, theme: Theme, window: PageHost) -> ClusterPage:
    from ui.views.cluster_kube import ClusterKubeView
    from ui.views.cluster_overview import ClusterOverviewView
    from ui.views.dashboard_view import DashboardView

    dashboard = DashboardView(theme)
    dashboard.time_range.clock = p.dashboard.now  # a capture's now is its end
    p.dashboard.sig_panels.connect(dashboard.set_panels)
    p.dashboard.sig_panel_data.connect(dashboard.show_panel)
    p.dashboard.sig_panel_anomalies.connect(dashboard.show_panel_anomalies)
    p.dashboard.sig_freshness.connect(dashboard.show_freshness)
    p.dashboard.sig_analysis.connect(dashboard.show_analysis)
    dashboard.sig_analyse_history.connect(p.dashboard.analyse_history)
    dashboard.sig_range_changed.connect(p.dashboard.set_range)
    dashboard.sig_pause_toggled.connect(p.dashboard.set_paused)
    overview = ClusterOverviewView(theme, removable=p.registry.allows(Action.MANAGE_CLUSTERS))
    overview.sig_remove_requested.connect(window.confirm_remove)
    kube = ClusterKubeView(theme)
    p.kube.sig_validation.connect(kube.show_validation)
    p.kube.sig_inventory.connect(kube.show_inventory)
    p.kube.sig_events.connect(kube.show_events)
    p.kube.sig_status.connect(kube.show_status)
    kube.sig_refresh.connect(p.kube.reload)
    kube.sig_discover.connect(p.kube.discover)
    kube.sig_pod_logs.connect(  # around the app's now: a capture's end, not the wall clock's
        lambda namespace, pod: window.open_logs(p.dashboard.cluster or "",
                                                {"namespace": namespace, "pod": pod},
                                                p.dashboard.now().timestamp())
    )  # fmt: skip
    page = ClusterPage(dashboard, overview, kube)
    page.currentChanged.connect(window.on_cluster_tab_changed)
    return page


def fleet(p: Presenters, theme: Theme, window: PageHost) -> QWidget:
    from ui.views.fleet_view import FleetView

    view = FleetView(theme)
    p.fleet.sig_tiles.connect(view.show_tiles)
    p.fleet.sig_summary.connect(view.show_summary)
    view.sig_open_cluster.connect(window.show_cluster)
    return view


def alerts(p: Presenters, theme: Theme, window: PageHost) -> QWidget:
    from ui.views.tables import AlertsView

    view = AlertsView(theme)
    if p.alerts.clusters is None:  # which clusters have an Alertmanager, and members' hubs
        p.alerts.clusters = p.registry
    p.alerts.sig_reads.connect(view.show_reads)
    p.alerts.sig_groups.connect(view.show_groups)
    view.sig_group_by_changed.connect(p.alerts.set_group_by)
    view.sig_analyse.connect(window.analyse_at)
    view.sig_logs.connect(window.open_logs)
    return view


def incidents(p: Presenters, theme: Theme, window: PageHost) -> QWidget:
    from ui.views.incidents_view import IncidentsView

    view = IncidentsView(theme)
    p.incidents.sig_rows.connect(view.show_rows)
    p.incidents.sig_error.connect(view.show_error)
    p.incidents.sig_rca.connect(view.show_rca)
    p.incidents.sig_rca_busy.connect(view.show_rca_busy)
    p.incidents.sig_rca_failed.connect(view.show_rca_failed)
    view.sig_acknowledge.connect(p.incidents.acknowledge)
    # an opened capture is read-only: an acknowledgement would go into its temporary copy and
    # be gone when it closes (the CLI refuses it)
    view.ack_button.setVisible(p.registry.allows(Action.ACKNOWLEDGE) and not p.registry.read_only)
    view.sig_analyse.connect(p.incidents.analyse)
    view.sig_logs.connect(window.open_logs)
    p.incidents.sig_explain_state.connect(view.rca.show_explain_state)
    p.incidents.sig_explain_text.connect(view.rca.show_explain_text)
    p.incidents.sig_explained.connect(view.rca.show_explained)
    view.rca.sig_explain.connect(p.incidents.explain)
    view.rca.sig_logs.connect(window.open_logs)
    view.rca.sig_traces.connect(window.open_traces)
    view.sig_open.connect(window.open_anomaly)
    view.sig_open_view.connect(window.show_view)
    return view


def anomalies(p: Presenters, theme: Theme, window: PageHost) -> QWidget:
    from ui.views.anomalies_view import AnomaliesView

    view = AnomaliesView(theme)
    p.anomalies.sig_rows.connect(view.show_rows)
    p.anomalies.sig_error.connect(view.show_error)
    view.sig_filter_changed.connect(p.anomalies.set_filter)
    view.sig_open.connect(window.open_anomaly)
    view.sig_analyse.connect(window.analyse_at)
    view.sig_logs.connect(window.open_logs)
    return view


def gpu(p: Presenters, theme: Theme, window: PageHost) -> QWidget:
    from ui.views.fleet_hw_views import GpuFleetView

    view = GpuFleetView(theme)
    view.time_range.clock = p.dashboard.now  # a capture's now is its end
    p.gpu.sig_fleet.connect(view.show_fleet)
    p.gpu.sig_history.connect(view.show_history)
    p.gpu.sig_error.connect(view.show_error)
    view.sig_gpu_chosen.connect(lambda health: p.gpu.read_history(health.reading))
    view.sig_range_changed.connect(p.gpu.set_range)
    return view


def ptp(p: Presenters, theme: Theme, window: PageHost) -> QWidget:
    from ui.views.fleet_hw_views import PtpBoardView

    view = PtpBoardView(theme)
    view.time_range.clock = p.dashboard.now  # a capture's now is its end
    p.ptp.sig_board.connect(view.show_board)
    p.ptp.sig_error.connect(view.show_error)
    view.sig_range_changed.connect(p.ptp.set_range)
    return view


def sriov(p: Presenters, theme: Theme, window: PageHost) -> QWidget:
    from ui.views.sriov_view import SriovView

    view = SriovView(theme)
    p.sriov.sig_vfs.connect(view.show_vfs)
    p.sriov.sig_ports.connect(view.show_ports)
    p.sriov.sig_nodes.connect(view.show_nodes)
    p.sriov.sig_networks.connect(view.show_networks)
    p.sriov.sig_workloads.connect(view.show_workloads)
    p.sriov.sig_error.connect(view.show_error)
    return view


def drift(p: Presenters, theme: Theme, window: PageHost) -> QWidget:
    from ui.views.fleet_hw_views import DriftView

    view = DriftView(theme)
    p.drift.sig_drift.connect(view.show_drift)
    p.drift.sig_error.connect(view.show_error)
    return view


def reports(p: Presenters, theme: Theme, window: PageHost) -> QWidget:
    from ui.views.reports_view import ReportsView

    view = ReportsView(theme, p.reports.folder)
    p.reports.sig_listed.connect(view.show_reports)
    p.reports.sig_error.connect(view.show_error)
    view.sig_new_report.connect(window.open_report_dialog)
    view.new_button.setVisible(p.registry.allows(Action.WRITE_REPORTS))
    return view


def logs(p: Presenters, theme: Theme, window: PageHost) -> QWidget:
    from ui.views.logs_view import LogsView

    view = LogsView(theme)
    view.time_range.clock = p.logs.clock  # the presenter's now: a capture's end when one is open
    view.set_clusters(p.logs.clusters())
    view.sig_run.connect(p.logs.run)
    view.sig_tail.connect(p.logs.set_tail)
    view.sig_pause.connect(p.logs.pause_tail)
    view.sig_complete.connect(p.logs.complete)
    view.sig_open_trace.connect(window.open_trace)
    p.logs.sig_lines.connect(view.show_lines)
    p.logs.sig_volume.connect(view.show_volume)
    p.logs.sig_labels.connect(view.show_labels)
    p.logs.sig_tail_lines.connect(view.show_tail_lines)
    p.logs.sig_tail_state.connect(view.show_tail_state)
    p.logs.sig_error.connect(view.show_error)
    return view


def traces(p: Presenters, theme: Theme, window: PageHost) -> QWidget:
    from ui.views.traces_view import TracesView

    view = TracesView(theme)
    view.time_range.clock = p.traces.clock  # the presenter's now: a capture's end when one is open
    view.set_clusters(p.traces.clusters())
    view.sig_search.connect(p.traces.search)
    view.sig_open.connect(p.traces.open)
    p.traces.sig_found.connect(view.show_found)
    p.traces.sig_trace.connect(view.show_trace)
    p.traces.sig_error.connect(view.show_error)
    return view


def console(p: Presenters, theme: Theme, window: PageHost) -> QWidget:
    from ui.views.console_view import ConsoleView

    view = ConsoleView(theme)
    view.sig_run.connect(p.console.run)
    view.sig_save.connect(p.console.save)
    view.save_button.setVisible(p.registry.allows(Action.SAVE_QUERIES) and not p.registry.read_only)
    p.console.sig_result.connect(view.show_result)
    p.console.sig_history.connect(view.show_history)
    p.console.sig_saved.connect(view.show_saved)
    p.console.sig_busy.connect(view.set_busy)
    p.console.sig_error.connect(view.show_error)
    return view


def diagnostics(p: Presenters, theme: Theme, window: PageHost) -> QWidget:
    from ui.views.tables import DiagnosticsView

    view = DiagnosticsView(theme)
    p.diagnostics.sig_rows.connect(view.show_rows)
    return view


def chat(p: Presenters, theme: Theme, window: PageHost) -> QWidget:
    from ui.views.chat_view import ChatView

    view = ChatView(theme, p.chat.personas)
    c = p.chat
    c.sig_configured.connect(view.show_configured)
    c.sig_sessions.connect(view.show_sessions)
    c.sig_session.connect(view.show_session)
    c.sig_chunk.connect(view.show_chunk)
    c.sig_tool_started.connect(view.show_tool_started)
    c.sig_tool_finished.connect(view.show_tool_finished)
    c.sig_reply_done.connect(view.show_reply_done)
    c.sig_busy.connect(view.show_busy)
    c.sig_error.connect(view.show_error)
    view.sig_ask.connect(c.ask)
    view.sig_stop.connect(c.stop)
    view.sig_new.connect(c.new_session)
    view.sig_open.connect(c.open_session)
    view.sig_delete.connect(c.delete_session)
    view.show_session(c.session)
    return view


#: page key -> the function that builds and wires its widget
BUILDERS: dict[str, Callable[[Presenters, Theme, PageHost], QWidget]] = {
    "fleet": fleet,
    "alerts": alerts,
    "anomalies": anomalies,
    "logs": logs,
    "traces": traces,
    "incidents": incidents,
    "gpu": gpu,
    "ptp": ptp,
    "sriov": sriov,
    "drift": drift,
    "reports": reports,
    "chat": chat,
    "console": console,
    "diagnostics": diagnostics,
}
