"""The main window: cluster list, dashboard area, status bar; first run shows the empty state."""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass

from PySide6.QtCore import QProcess, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models import Cluster
from aiops_desktop.settings import resources_dir
from ui.dialogs.add_cluster import AddClusterDialog
from ui.dialogs.import_kubeconfig import ImportKubeconfigDialog
from ui.dialogs.report_dialog import ReportDialog
from ui.presenters.console import ConsolePresenter
from ui.presenters.fleet_hw import DriftPresenter, GpuPresenter, PtpPresenter, SriovPresenter
from ui.presenters.kube import KubePresenter
from ui.presenters.monitoring import (
    AlertsPresenter,
    AnomaliesPresenter,
    DashboardPresenter,
    DiagnosticsPresenter,
    FleetPresenter,
)
from ui.presenters.registry import RegistryPresenter
from ui.presenters.reports import ReportsPresenter
from ui.theme import Theme
from ui.views.anomalies_view import AnomaliesView
from ui.views.cluster_kube import ClusterKubeView
from ui.views.cluster_list import ClusterListView
from ui.views.cluster_overview import ClusterOverviewView
from ui.views.console_view import ConsoleView
from ui.views.dashboard_view import DashboardView
from ui.views.empty_state import EmptyStateView
from ui.views.fleet_hw_views import DriftView, GpuFleetView, PtpBoardView
from ui.views.fleet_view import FleetView
from ui.views.reports_view import ReportsView
from ui.views.sriov_view import SriovView
from ui.views.tables import AlertsView, DiagnosticsView

CAPTURE_FILTER = "AIOps Desktop captures (*.aiops);;All files (*)"
SAMPLE_CAPTURE = resources_dir() / "samples" / "sample.aiops"


@dataclass
class MonitoringPresenters:
    fleet: FleetPresenter
    dashboard: DashboardPresenter
    alerts: AlertsPresenter
    diagnostics: DiagnosticsPresenter
    console: ConsolePresenter
    anomalies: AnomaliesPresenter
    kube: KubePresenter
    gpu: GpuPresenter
    ptp: PtpPresenter
    sriov: SriovPresenter
    drift: DriftPresenter
    reports: ReportsPresenter


NAV_VIEWS = (
    "Fleet", "Alerts", "Anomalies", "GPUs", "PTP", "SR-IOV", "Drift", "Reports", "Console",
    "Diagnostics",
)  # fmt: skip


class MainWindow(QMainWindow):
    """Signals: sig_closed(): the user closed the window (the app then shuts down)."""

    sig_closed = Signal()

    def __init__(
        self, presenter: RegistryPresenter, theme: Theme, monitoring: MonitoringPresenters
    ) -> None:
        super().__init__()
        self._presenter = presenter
        self._theme = theme
        self._monitoring = monitoring
        self._clusters: list[Cluster] = []
        self.setWindowTitle("AIOps Desktop")
        self.setObjectName("mainWindow")
        self._setup_ui()
        self._setup_menu()
        presenter.sig_clusters_changed.connect(self._on_presenter_clusters_changed)
        presenter.sig_error.connect(self._on_presenter_error)
        presenter.sig_task_failed.connect(self._on_presenter_task_failed)
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(1000)
        self._status_timer.timeout.connect(self._refresh_status)
        self._status_timer.start()

    def _setup_ui(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 8)
        self.notice = QLabel()
        self.notice.setProperty("role", "warning")
        self.notice.setWordWrap(True)
        self.notice.setVisible(False)
        layout.addWidget(self.notice)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.sidebar = QWidget()
        side = QVBoxLayout(self.sidebar)
        side.setContentsMargins(0, 0, 0, 0)
        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.addItems(list(NAV_VIEWS))
        self.nav.setFixedHeight(34 * len(NAV_VIEWS))
        self.nav.itemClicked.connect(lambda item: self.show_view(item.text().lower()))
        side.addWidget(self.nav)
        self.cluster_list = ClusterListView(self._theme)
        self.cluster_list.setMinimumWidth(240)
        self.cluster_list.sig_selected.connect(self._on_cluster_list_selected)
        side.addWidget(self.cluster_list, 1)
        self.stack = QStackedWidget()
        self.empty_state = EmptyStateView(has_sample=SAMPLE_CAPTURE.exists())
        self.empty_state.sig_open_sample.connect(lambda: self.open_capture(str(SAMPLE_CAPTURE)))
        self.empty_state.sig_import_kubeconfig.connect(self.open_import_dialog)
        self.empty_state.sig_add_cluster.connect(self.open_add_dialog)
        self.empty_state.capture_button.clicked.connect(self.open_capture_dialog)
        self.overview = ClusterOverviewView(self._theme)
        self.overview.sig_remove_requested.connect(self._on_overview_remove_requested)
        self._setup_pages()
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.stack)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 1000])
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.status_clusters = QLabel()
        self.status_tasks = QLabel()
        self.status_cache = QLabel(f"Cache: {self._presenter.data_path}")
        self.status_cache.setProperty("muted", True)
        self.statusBar().addWidget(self.status_clusters)
        self.statusBar().addWidget(self.status_tasks)
        self.statusBar().addPermanentWidget(self.status_cache)
        notices = self._presenter.notices
        if notices:
            self.notice.setText("\n".join(notices))
            self.notice.setVisible(True)
        self._show_clusters([])

    def _setup_pages(self) -> None:
        m = self._monitoring
        self.dashboard = DashboardView(self._theme, DashboardPresenter.RANGES)
        m.dashboard.sig_panels.connect(self.dashboard.set_panels)
        m.dashboard.sig_panel_data.connect(self.dashboard.show_panel)
        m.dashboard.sig_panel_anomalies.connect(self.dashboard.show_panel_anomalies)
        m.dashboard.sig_freshness.connect(self.dashboard.show_freshness)
        m.dashboard.sig_analysis.connect(self.dashboard.show_analysis)
        self.dashboard.sig_analyse_history.connect(m.dashboard.analyse_history)
        self.dashboard.sig_range_changed.connect(m.dashboard.set_range)
        self.dashboard.sig_pause_toggled.connect(m.dashboard.set_paused)
        self.cluster_page = QTabWidget()
        self.cluster_page.addTab(self.dashboard, "Dashboard")
        self.cluster_page.addTab(self.overview, "Details")
        self.kube = ClusterKubeView(self._theme)
        m.kube.sig_validation.connect(self.kube.show_validation)
        m.kube.sig_inventory.connect(self.kube.show_inventory)
        m.kube.sig_events.connect(self.kube.show_events)
        m.kube.sig_status.connect(self.kube.show_status)
        self.kube.sig_refresh.connect(m.kube.refresh)
        self.kube.sig_discover.connect(m.kube.discover)
        self.cluster_page.addTab(self.kube, "Kubernetes")
        self.cluster_page.currentChanged.connect(self._on_cluster_tab_changed)
        self.fleet = FleetView(self._theme)
        m.fleet.sig_tiles.connect(self.fleet.show_tiles)
        self.fleet.sig_open_cluster.connect(self.show_cluster)
        self.alerts = AlertsView(self._theme)
        m.alerts.sig_groups.connect(self.alerts.show_groups)
        self.alerts.sig_group_by_changed.connect(m.alerts.set_group_by)
        self.console = ConsoleView(self._theme)
        self.console.sig_run.connect(m.console.run)
        m.console.sig_result.connect(self.console.show_result)
        m.console.sig_history.connect(self.console.show_history)
        m.console.sig_busy.connect(self.console.set_busy)
        m.console.sig_error.connect(self.console.show_error)
        self.diagnostics = DiagnosticsView(self._theme)
        m.diagnostics.sig_rows.connect(self.diagnostics.show_rows)
        self.anomalies = AnomaliesView(self._theme)
        m.anomalies.sig_rows.connect(self.anomalies.show_rows)
        m.anomalies.sig_error.connect(self.anomalies.show_error)
        self.anomalies.sig_filter_changed.connect(m.anomalies.set_filter)
        self.anomalies.sig_open.connect(self.open_anomaly)
        self._setup_fleet_hw_views(m)
        for page in (
            self.empty_state,
            self.fleet,
            self.cluster_page,
            self.alerts,
            self.console,
            self.diagnostics,
            self.anomalies,
            self.gpu,
            self.ptp,
            self.sriov,
            self.drift,
            self.reports,
        ):
            self.stack.addWidget(page)

    def _setup_fleet_hw_views(self, m: MonitoringPresenters) -> None:
        self.gpu = GpuFleetView(self._theme)
        m.gpu.sig_fleet.connect(self.gpu.show_fleet)
        m.gpu.sig_history.connect(self.gpu.show_history)
        m.gpu.sig_error.connect(self.gpu.show_error)
        self.gpu.sig_gpu_chosen.connect(lambda health: m.gpu.read_history(health.reading))
        self.ptp = PtpBoardView(self._theme, PtpPresenter.WINDOWS)
        m.ptp.sig_board.connect(self.ptp.show_board)
        m.ptp.sig_error.connect(self.ptp.show_error)
        self.ptp.sig_window_changed.connect(m.ptp.set_window)
        self.sriov = SriovView(self._theme)
        m.sriov.sig_vfs.connect(self.sriov.show_vfs)
        m.sriov.sig_ports.connect(self.sriov.show_ports)
        m.sriov.sig_nodes.connect(self.sriov.show_nodes)
        m.sriov.sig_networks.connect(self.sriov.show_networks)
        m.sriov.sig_workloads.connect(self.sriov.show_workloads)
        m.sriov.sig_error.connect(self.sriov.show_error)
        self.drift = DriftView(self._theme)
        m.drift.sig_drift.connect(self.drift.show_drift)
        m.drift.sig_error.connect(self.drift.show_error)
        self.reports = ReportsView(self._theme, m.reports.folder)
        m.reports.sig_listed.connect(self.reports.show_reports)
        m.reports.sig_error.connect(self.reports.show_error)
        self.reports.sig_new_report.connect(self.open_report_dialog)

    def _setup_menu(self) -> None:
        menu = self.menuBar().addMenu("&File")
        actions = (
            ("&Import kubeconfig…", "Ctrl+I", self.open_import_dialog),
            ("&Add cluster…", "Ctrl+N", self.open_add_dialog),
            ("New &report…", "Ctrl+R", self.open_report_dialog),
        )
        for text, shortcut, slot in actions:
            action = QAction(text, self)
            action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(slot)
            menu.addAction(action)
        capture = QAction("&Open capture…", self)
        capture.setShortcut(QKeySequence("Ctrl+O"))
        capture.triggered.connect(self.open_capture_dialog)
        menu.addAction(capture)
        menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        menu.addAction(quit_action)

    # -- user actions --------------------------------------------------------------------
    def open_report_dialog(self) -> ReportDialog:
        dialog = ReportDialog(self._monitoring.reports, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def open_capture_dialog(self) -> QFileDialog:
        """Choose a capture; it opens in a window of its own (read-only, offline), this one
        keeps watching the live fleet."""
        dialog = QFileDialog(self, "Open capture", "", CAPTURE_FILTER)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.open_capture)
        dialog.open()
        return dialog

    def open_capture(self, path: str) -> bool:
        """Start ``aiops-desktop capture open PATH`` as its own process."""
        args = ["-m", "aiops_desktop", "capture", "open", path]
        return bool(QProcess.startDetached(sys.executable, args))

    def open_add_dialog(self) -> AddClusterDialog:
        dialog = AddClusterDialog(self._presenter, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def open_import_dialog(self, path: str | None = None) -> ImportKubeconfigDialog:
        dialog = ImportKubeconfigDialog(self._presenter, path or None, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _on_overview_remove_requested(self, name: str) -> None:
        answer = QMessageBox.question(
            self, "Remove cluster", f"Remove {name} and delete its credentials from the keyring?"
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._presenter.remove_cluster(name)

    # -- presenter updates ---------------------------------------------------------------
    def _on_presenter_clusters_changed(self, clusters: list[Cluster]) -> None:
        self._show_clusters(clusters)

    def _show_clusters(self, clusters: list[Cluster]) -> None:
        first = not self._clusters
        self._clusters = clusters
        self.cluster_list.show_clusters(clusters)
        self.sidebar.setVisible(bool(clusters))
        if not clusters:
            self.stack.setCurrentWidget(self.empty_state)
        elif first or self.stack.currentWidget() is self.empty_state:
            self.show_view("fleet")
        elif self.stack.currentWidget() is self.cluster_page:
            current = next(
                (c for c in clusters if c.name == self._monitoring.dashboard.cluster), None
            )
            if current is not None:
                self.overview.show_cluster(current)
        self._refresh_status()

    def show_view(self, name: str) -> None:
        """fleet, alerts, diagnostics, cluster:NAME or details:NAME (also the --view switch)."""
        if name.startswith("cluster:"):
            self.show_cluster(name.split(":", 1)[1])
            return
        if name.startswith("details:"):
            self.show_cluster(name.split(":", 1)[1])
            self.cluster_page.setCurrentWidget(self.kube)
            return
        pages = {
            "fleet": self.fleet,
            "alerts": self.alerts,
            "console": self.console,
            "diagnostics": self.diagnostics,
            "anomalies": self.anomalies,
            "gpu": self.gpu,
            "gpus": self.gpu,
            "ptp": self.ptp,
            "sriov": self.sriov,
            "sr-iov": self.sriov,
            "drift": self.drift,
            "reports": self.reports,
        }
        page = pages[name]
        m = self._monitoring
        readers = (
            (m.gpu, self.gpu),
            (m.ptp, self.ptp),
            (m.sriov, self.sriov),
            (m.drift, self.drift),
        )
        for presenter, view in readers:
            if page is view:
                presenter.start()  # it reads while shown, every 30 s
            else:
                presenter.stop()
        if page is self.anomalies:
            self.anomalies.set_clusters(self._monitoring.anomalies.clusters())
            self._monitoring.anomalies.refresh()
        if page is self.console:
            self.console.set_clusters(self._monitoring.console.cluster_names())
            self._monitoring.console.load_history()
        if page is self.reports:
            self._monitoring.reports.refresh()
        self.stack.setCurrentWidget(page)
        self.cluster_list.list.clearSelection()

    def show_cluster(self, name: str) -> None:
        self._monitoring.gpu.stop()
        self._monitoring.ptp.stop()
        self._monitoring.sriov.stop()
        self._monitoring.drift.stop()
        cluster = next((c for c in self._clusters if c.name == name), None)
        if cluster is not None:
            self.overview.show_cluster(cluster)
        self._monitoring.dashboard.show_cluster(name)
        self.stack.setCurrentWidget(self.cluster_page)
        self.cluster_page.setCurrentWidget(self.dashboard)

    def _on_cluster_tab_changed(self, _index: int) -> None:
        """The Kubernetes page asks the API server only while it is shown."""
        cluster = self._monitoring.dashboard.cluster
        if self.cluster_page.currentWidget() is self.kube and cluster:
            self._monitoring.kube.show_cluster(cluster)
        else:
            self._monitoring.kube.stop()

    def open_anomaly(self, cluster: str, panel: str, at: float) -> None:
        """Jump to the cluster's dashboard with a range wide enough to show ``at``."""
        self.show_cluster(cluster)
        age = time.time() - at
        ranges = sorted(DashboardPresenter.RANGES.items(), key=lambda kv: kv[1])
        label, _ = next(((k, v) for k, v in ranges if v >= age * 1.1), ranges[-1])
        self.dashboard.select_range(label)
        chart = self.dashboard.charts.get(panel)
        if chart is not None:
            self.dashboard.scroll_to(chart)

    def _on_cluster_list_selected(self, name: str) -> None:
        if self._clusters:
            self.show_cluster(name)

    def _on_presenter_error(self, message: str) -> None:
        self.statusBar().showMessage(message, 15000)

    def _on_presenter_task_failed(self, message: str) -> None:
        self.statusBar().showMessage(f"Background task failed: {message}", 15000)

    def _refresh_status(self) -> None:
        counts = Counter(c.status.state.value for c in self._clusters)
        parts = [f"{len(self._clusters)} cluster(s)"]
        parts += [f"{n} {state.lower()}" for state, n in sorted(counts.items())]
        self.status_clusters.setText(" · ".join(parts))
        self.status_tasks.setText(f"tasks: {self._presenter.running_tasks()}")

    def closeEvent(self, event: QCloseEvent) -> None:
        self._status_timer.stop()
        super().closeEvent(event)
        self.sig_closed.emit()
