"""The main window: cluster list, dashboard area, status bar; first run shows the empty state."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING, cast

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models import Cluster, ClusterKind
from aiops_desktop.models.fleet import FleetTruth
from aiops_desktop.models.text import count
from aiops_desktop.models.time_range import TimeRange
from aiops_desktop.services.queries.logs_traces import JUMP_AFTER, JUMP_BEFORE, logql_for
from aiops_desktop.services.runtime.access import Action
from aiops_desktop.settings import packaged as _packaged
from aiops_desktop.settings import resources_dir
from ui import page_views
from ui.dialogs.add_cluster import AddClusterDialog
from ui.dialogs.capture_export_dialog import CaptureExportDialog
from ui.dialogs.import_kubeconfig import ImportKubeconfigDialog
from ui.dialogs.report_dialog import ReportDialog
from ui.dialogs.settings_dialog import SettingsDialog
from ui.notifier import CriticalNotifier
from ui.page_views import ClusterPage
from ui.pages import PAGES, Runs, page_key
from ui.presenters import Presenters
from ui.presenters.capture_export import CaptureExportPresenter
from ui.theme import Theme
from ui.views.cluster_list import ClusterListView, on_pick
from ui.views.empty_state import EmptyStateView
from ui.views.rows_table import EXPORTS
from ui.views.text import PlainLabel
from ui.views.time_range import preset_covering
from ui.window_commands import WindowCommands

if TYPE_CHECKING:
    from ui.views.anomalies_view import AnomaliesView
    from ui.views.cluster_kube import ClusterKubeView
    from ui.views.cluster_overview import ClusterOverviewView
    from ui.views.console_view import ConsoleView
    from ui.views.dashboard_view import DashboardView
    from ui.views.fleet_hw_views import DriftView, GpuFleetView, PtpBoardView
    from ui.views.fleet_view import FleetView
    from ui.views.logs_view import LogsView
    from ui.views.reports_view import ReportsView
    from ui.views.sriov_view import SriovView
    from ui.views.tables import AlertsView, DiagnosticsView
    from ui.views.traces_view import TracesView

CAPTURE_FILTER = "AIOps Desktop captures (*.aiops);;All files (*)"
RUNS = {spec.key: spec.runs for spec in PAGES}
SAMPLE_CAPTURE = resources_dir() / "samples" / "sample.aiops"
#: an anomaly older than the longest preset opens this much either side of it (absolute)
AROUND_OLD_ANOMALY = timedelta(hours=12)
#: a capture's window that ends within this long of its start did not open (its error, an
#: unknown argument say, is said in the status bar: nothing else would say it)
QUICK_EXIT_S = 10.0
WATCH_MS = 500


def app_command(*args: str) -> list[str]:
    """The command line that runs this app with ``args``, as this process was run. ``-P``:
    ``-m`` would put the working folder (inherited: ~/Downloads, say) first on the module
    path, and a file there named analysis.py or ui.py would run as the app's own code; the
    launcher's isolated config never puts it there."""
    if _packaged():
        return [sys.executable, *args]
    return [sys.executable, "-P", "-m", "aiops_desktop", *args]


@dataclass
class _Launched:
    """A capture's window started by this one: watched for an early end (then its stderr's
    last line says why), and reaped when it ends."""

    child: subprocess.Popen[bytes]
    errors: IO[bytes] | None
    started: float
    path: str  # the capture: asked again while this one is starting, it is this one


class MainWindow(QMainWindow):
    """Signals: sig_closed(): the user closed the window (the app then shuts down)."""

    sig_closed = Signal()

    def __init__(self, presenters: Presenters, theme: Theme) -> None:
        super().__init__()
        self.presenters = presenters
        self._presenter = presenters.registry
        self._theme = theme
        self._built: dict[str, QWidget] = {}  # page key -> its widget, once shown
        self._cluster_page: ClusterPage | None = None
        self._clusters: list[Cluster] = []
        self._truth: FleetTruth | None = None
        self._launched: list[_Launched] = []  # the capture windows started, until they end
        #: the live cache's capture export (``attach_capture_export``); None: not offered
        self.capture_export: CaptureExportPresenter | None = None
        #: the options this process was given that a capture window started from it is
        #: given too (``--data-dir``, ``--role``): its log, reports and settings are then
        #: this window's (a portable install's folder), not the platform's default folder
        self.child_options: list[str] = []
        self._launch_watch = QTimer(self)
        self._launch_watch.setInterval(WATCH_MS)
        self._launch_watch.timeout.connect(self._watch_launched)
        #: the pages this role is offered (the Chat page needs a role that may chat)
        self.pages = [s for s in PAGES if s.needs is None or presenters.registry.allows(s.needs)]
        #: every table under the window exports its rows only where the role may export
        self.setProperty(EXPORTS, presenters.registry.allows(Action.EXPORT_CAPTURE))
        self.setWindowTitle("AIOps Desktop")
        self.setObjectName("mainWindow")
        self._setup_ui()
        self.commands = WindowCommands(self, self.filter_bar)
        self._presenter.sig_clusters_changed.connect(self._on_presenter_clusters_changed)
        self.notifier = CriticalNotifier(
            self.windowIcon(), self.statusBar().showMessage,
            enabled=presenters.settings.current.ui.notify_critical, parent=self,
        )  # fmt: skip
        presenters.settings.sig_notify.connect(self._on_notify_changed)
        self._presenter.sig_fleet.connect(self._on_fleet_truth)
        self._presenter.sig_error.connect(self._on_presenter_error)
        self._presenter.sig_task_failed.connect(self._on_presenter_task_failed)

    def _setup_ui(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 8)
        self.notice = PlainLabel()
        self.notice.setProperty("role", "warning")
        self.notice.setWordWrap(True)
        self.notice.setVisible(False)
        layout.addWidget(self.notice)
        self.filter_bar = QLineEdit()  # "/" shows it (ui/window_commands.py)
        layout.addWidget(self.filter_bar)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.sidebar = QWidget()
        side = QVBoxLayout(self.sidebar)
        side.setContentsMargins(0, 0, 0, 0)
        self._setup_nav()
        side.addWidget(self.nav)
        self.cluster_list = ClusterListView(self._theme)
        self.cluster_list.setMinimumWidth(240)
        self.cluster_list.sig_selected.connect(self._on_cluster_list_selected)
        side.addWidget(self.cluster_list, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self._setup_empty_state())
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.stack)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 1000])
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.status_clusters = PlainLabel()
        self.status_role = PlainLabel(f"Role: {self._presenter.role.value}")
        self.status_role.setToolTip("admin: clusters, credentials, settings; operator: all but "
                                    "managing clusters, credentials and settings; viewer: reads "
                                    "only")  # fmt: skip
        self.status_cache = PlainLabel(f"Cache: {self._presenter.data_path}")
        self.status_cache.setProperty("muted", True)
        self.statusBar().addWidget(self.status_clusters)
        self.statusBar().addPermanentWidget(self.status_role)
        self.statusBar().addPermanentWidget(self.status_cache)
        notices = self._presenter.notices
        if notices:
            self.notice.setText("\n".join(notices))
            self.notice.setVisible(True)
        self._show_clusters([])

    def _setup_empty_state(self) -> EmptyStateView:
        self.empty_state = EmptyStateView(has_sample=SAMPLE_CAPTURE.exists())
        self.empty_state.sig_open_sample.connect(lambda: self.open_capture(str(SAMPLE_CAPTURE)))
        self.empty_state.sig_import_kubeconfig.connect(self.open_import_dialog)
        self.empty_state.sig_add_cluster.connect(self.open_add_dialog)
        self.empty_state.capture_button.clicked.connect(self.open_capture_dialog)
        manage = self._presenter.allows(Action.MANAGE_CLUSTERS)
        self.empty_state.import_button.setVisible(manage)  # only an admin registers clusters
        self.empty_state.add_button.setVisible(manage)
        return self.empty_state

    def _setup_nav(self) -> None:
        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        for spec in self.pages:
            item = QListWidgetItem(spec.title)
            item.setData(Qt.ItemDataRole.UserRole, spec.key)
            self.nav.addItem(item)
        self.nav.setFixedHeight(34 * len(self.pages))
        on_pick(self.nav, lambda item: self.show_view(item.data(Qt.ItemDataRole.UserRole)))

    @property
    def truth(self) -> FleetTruth | None:
        """The fleet's one truth as last told (None until it is)."""
        return self._truth

    @property
    def clusters(self) -> list[Cluster]:
        return self._clusters

    def cluster_names(self) -> list[str]:
        """What the window offers to show (the sidebar's rows): the clusters registered now,
        each fleet hub followed by its members as the fleet's one truth last named them. The
        truth is refreshed every minute: a cluster removed since (or a removed hub's member)
        is not among them."""
        members: dict[str, list[str]] = {}
        for t in self._truth.clusters if self._truth is not None else []:
            if t.hub:
                members.setdefault(t.hub, []).append(t.name)
        registered = {c.name for c in self._clusters}
        names: list[str] = []
        for cluster in self._clusters:
            names.append(cluster.name)
            if cluster.kind is ClusterKind.FLEET:
                names += [m for m in members.get(cluster.name, []) if m not in registered]
        return list(dict.fromkeys(names))  # a member of two hubs once

    def _known(self, name: str) -> bool:
        return name in self.cluster_names() or self._presenter.hub_of(name) is not None

    # -- pages, built the first time they are shown --------------------------------------
    def page(self, key: str) -> QWidget:
        """The widget of page ``key`` (``ui.pages``), built and wired on first use."""
        widget = self._built.get(key)
        if widget is None:
            widget = self._built[key] = page_views.BUILDERS[key](self.presenters, self._theme, self)
            self.stack.addWidget(widget)
        return widget

    @property
    def cluster_page(self) -> ClusterPage:
        if self._cluster_page is None:
            self._cluster_page = page_views.cluster_page(self.presenters, self._theme, self)
            self.stack.addWidget(self._cluster_page)
        return self._cluster_page

    @property
    def dashboard(self) -> DashboardView:
        return self.cluster_page.dashboard

    def _build_cluster_page(self) -> None:
        _ = self.cluster_page

    @property
    def overview(self) -> ClusterOverviewView:
        return self.cluster_page.overview

    @property
    def kube(self) -> ClusterKubeView:
        return self.cluster_page.kube

    @property
    def fleet(self) -> FleetView:
        return cast("FleetView", self.page("fleet"))

    @property
    def alerts(self) -> AlertsView:
        return cast("AlertsView", self.page("alerts"))

    @property
    def anomalies(self) -> AnomaliesView:
        return cast("AnomaliesView", self.page("anomalies"))

    @property
    def logs(self) -> LogsView:
        return cast("LogsView", self.page("logs"))

    @property
    def traces(self) -> TracesView:
        return cast("TracesView", self.page("traces"))

    @property
    def gpu(self) -> GpuFleetView:
        return cast("GpuFleetView", self.page("gpu"))

    @property
    def ptp(self) -> PtpBoardView:
        return cast("PtpBoardView", self.page("ptp"))

    @property
    def sriov(self) -> SriovView:
        return cast("SriovView", self.page("sriov"))

    @property
    def drift(self) -> DriftView:
        return cast("DriftView", self.page("drift"))

    @property
    def reports(self) -> ReportsView:
        return cast("ReportsView", self.page("reports"))

    @property
    def console(self) -> ConsoleView:
        return cast("ConsoleView", self.page("console"))

    @property
    def diagnostics(self) -> DiagnosticsView:
        return cast("DiagnosticsView", self.page("diagnostics"))

    def _on_page_shown(self, key: str) -> None:
        """A page's cluster picker offers the clusters registered now (its choice kept): one
        added since it was built, not one removed."""
        if key == "anomalies":
            self.anomalies.set_clusters(self.presenters.anomalies.clusters())
        elif key == "console":
            self.console.set_clusters(self.presenters.console.cluster_names())
        elif key == "logs":
            self.logs.set_clusters(self.presenters.logs.clusters())
        elif key == "traces":
            self.traces.set_clusters(self.presenters.traces.clusters())

    def _shown_page(self) -> str | None:
        shown = self.stack.currentWidget()
        return next((key for key, widget in self._built.items() if widget is shown), None)

    # -- user actions --------------------------------------------------------------------
    def open_report_dialog(self) -> ReportDialog:
        dialog = ReportDialog(self.presenters.reports, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def attach_capture_export(self, presenter: CaptureExportPresenter) -> None:
        """The composition root gives the live Core's capture export: File > Export
        capture… is offered from then on, where the role may export and no capture is
        open."""
        self.capture_export = presenter
        self.commands.offer_capture_export()

    def open_capture_export_dialog(self) -> CaptureExportDialog | None:
        if self.capture_export is None or not self.commands.export_capture_action.isVisible():
            return None  # its keys pressed where it is not offered
        dialog = CaptureExportDialog(self.capture_export, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def open_settings_dialog(self) -> SettingsDialog:
        dialog = SettingsDialog(self.presenters.settings, self)
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
        """Start ``aiops-desktop capture open PATH`` as its own process, in a session of its
        own (it outlives this window). One that cannot start, or ends at once with an error,
        is said in the status bar (a detached start would only tell that it started). The
        same capture asked again while its window is still starting (a double click) is
        that window: not a second one."""
        if any(
            launched.path == path and launched.errors is not None  # not up yet
            for launched in self._launched
        ):
            return True
        errors = tempfile.TemporaryFile()  # noqa: SIM115 (kept until the window is up)
        try:
            child = subprocess.Popen(
                app_command(*self.child_options, "capture", "open", path),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            errors.close()
            self.statusBar().showMessage(f"The capture window did not open: {exc}", 15000)
            return False
        self._launched.append(_Launched(child, errors, time.monotonic(), path))
        self._launch_watch.start()
        return True

    def _watch_launched(self) -> None:
        for launched in list(self._launched):
            code = launched.child.poll()
            early = time.monotonic() - launched.started < QUICK_EXIT_S
            if code and early and launched.errors is not None:
                launched.errors.seek(0)
                said = launched.errors.read().decode(errors="replace").strip().splitlines()
                reason = said[-1][:300] if said else f"it ended with exit code {code}"
                self.statusBar().showMessage(f"The capture window did not open: {reason}",
                                             30000)  # fmt: skip
            if (code is not None or not early) and launched.errors is not None:
                launched.errors.close()  # the window is up: what it says later is its own
                launched.errors = None
            if code is not None:
                self._launched.remove(launched)
        if not self._launched:
            self._launch_watch.stop()

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

    def confirm_remove(self, name: str) -> None:
        """The Details tab's Remove: ask, then unregister."""
        answer = QMessageBox.question(
            self, "Remove cluster", f"Remove {name} and delete its credentials from the keyring?"
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._presenter.remove_cluster(name)

    # -- presenter updates ---------------------------------------------------------------
    def _on_presenter_clusters_changed(self, clusters: list[Cluster]) -> None:
        self._show_clusters(clusters)
        key = self._shown_page()
        if key is not None:  # the page shown offers the clusters registered now
            self._on_page_shown(key)

    def _on_notify_changed(self, enabled: bool) -> None:
        self.notifier.enabled = enabled

    def _on_fleet_truth(self, truth: FleetTruth) -> None:
        """The sidebar's badges (and its hub members) follow the fleet's one truth; a new
        CRITICAL finding is told (ui/notifier.py)."""
        self.notifier.observe(truth)
        self._truth = truth
        self.cluster_list.show_clusters(self._clusters, truth)
        self._show_overview()
        self._refresh_status()

    def _show_clusters(self, clusters: list[Cluster]) -> None:
        first = not self._clusters
        self._clusters = clusters
        self._refresh_status()
        self.cluster_list.show_clusters(clusters, self._truth)
        self.sidebar.setVisible(bool(clusters))
        shown = self.presenters.dashboard.cluster
        on_cluster = self.stack.currentWidget() is self._cluster_page  # False until it is built
        if not clusters:
            if not first:  # the last one removed: nothing is left to read
                self._stop_readers()
                self._stop_cluster_readers()
            self.stack.setCurrentWidget(self.empty_state)
        elif first or self.stack.currentWidget() is self.empty_state:
            self.show_view("fleet")
        elif on_cluster and shown and not self._known(shown):
            # the cluster shown was removed: its page would go on reading it, and its Details
            # offer to remove it (or, shown for another, that other)
            self._show_overview(shown)
            self.show_view("fleet")
            self.statusBar().showMessage(f"{shown} is no longer registered", 15000)
        else:
            self._show_overview()
        self._refresh_status()

    def _show_overview(self, name: str | None = None) -> None:
        """The Details tab of the cluster shown (or of ``name``): its registration, and its
        state as the fleet's one truth judges it."""
        if name is None:
            if self._cluster_page is None or self.stack.currentWidget() is not self._cluster_page:
                return
            name = self.presenters.dashboard.cluster
        judged = self._truth.get(name) if self._truth is not None and name else None
        cluster = next((c for c in self._clusters if c.name == name), None)
        if cluster is not None:
            self.overview.show_cluster(cluster, judged)
        elif name and (hub := self._presenter.hub_of(name)) is not None:
            self.overview.show_member(name, hub, judged)
        elif name:
            self.overview.show_unregistered(name)

    def show_view(self, name: str) -> None:
        """A page by key or alias (``ui.pages``), ``cluster:NAME`` or ``details:NAME`` (also
        the --view switch). A page whose presenter reads while shown starts reading; the
        others that do stop."""
        if name.startswith("cluster:"):
            self.show_cluster(name.split(":", 1)[1])
            return
        if name.startswith("details:"):
            self.show_cluster(name.split(":", 1)[1])
            self.cluster_page.setCurrentWidget(self.kube)
            return
        key = page_key(name)
        if key is None:
            raise KeyError(f"no page named {name!r}")
        if all(spec.key != key for spec in self.pages):
            self.statusBar().showMessage(f"The {self._presenter.role.value} role has no {key} "
                                         "page", 15000)  # fmt: skip
            return
        widget = self.page(key)
        self._stop_readers(except_key=key)
        self._stop_cluster_readers()
        self._on_page_shown(key)
        presenter = self.presenters.page(key)
        if RUNS[key] is Runs.WHILE_SHOWN:
            presenter.start()  # it reads while shown, on its timer
        else:
            presenter.refresh()  # at once, not at the next tick
        self.stack.setCurrentWidget(widget)  # the filter of the page left is cleared then
        # no cluster is shown: not its highlight, nor its current row (a rebuild of the list
        # would highlight that row again)
        self.cluster_list.list.setCurrentRow(-1)
        self.cluster_list.list.clearSelection()
        # the list's highlight follows Ctrl+N and the palette (a current row does not navigate)
        self.nav.setCurrentRow(next(i for i, s in enumerate(self.pages) if s.key == key))

    def _stop_readers(self, except_key: str | None = None) -> None:
        for spec in PAGES:
            if spec.runs is Runs.WHILE_SHOWN and spec.key != except_key:
                self.presenters.page(spec.key).stop()

    def _stop_cluster_readers(self) -> None:
        """The cluster page's: its Kubernetes watch and its dashboard's redraws run only while
        it is shown (show_cluster starts them again)."""
        self.presenters.kube.stop()
        self.presenters.dashboard.stop()

    def show_cluster(self, name: str) -> None:
        self._stop_readers()
        self._build_cluster_page()  # wired before the presenter speaks
        if (
            self.stack.currentWidget() is self._cluster_page
            and name != self.presenters.dashboard.cluster
        ):
            self.commands.page_changed()  # another cluster: the filter was the last one's
        self._show_overview(name)  # a hub's member: what is known of it through the hub
        self.presenters.dashboard.show_cluster(name)
        self.stack.setCurrentWidget(self.cluster_page)
        self.cluster_page.setCurrentWidget(self.dashboard)
        self.nav.setCurrentRow(-1)  # no page of the list is shown
        self.cluster_list.select(name)

    def on_cluster_tab_changed(self, _index: int) -> None:
        """The Kubernetes page asks the API server only while it is shown."""
        cluster = self.presenters.dashboard.cluster
        if self.cluster_page.currentWidget() is self.kube and cluster:
            self.presenters.kube.show_cluster(cluster)
        else:
            self.presenters.kube.stop()

    def open_anomaly(self, cluster: str, panel: str, at: float) -> None:
        """Jump to the cluster's dashboard with a range wide enough to show ``at``: the
        shortest preset that does, else (anomalies are kept 30 days, the longest preset is
        7 d) a fixed span around it."""
        self.show_cluster(cluster)
        now = self.presenters.dashboard.now()  # a capture's now is its end
        back = timedelta(seconds=now.timestamp() - at)
        label = preset_covering(back)
        if TimeRange.preset(label).window >= back * 1.1:  # preset_covering's margin
            self.dashboard.select_range(label)
        else:
            moment = datetime.fromtimestamp(at, UTC)
            self.dashboard.time_range.show_span(
                moment - AROUND_OLD_ANOMALY, moment + AROUND_OLD_ANOMALY
            )
        chart = self.dashboard.charts.get(panel)
        if chart is not None:
            self.dashboard.scroll_to(chart)

    def open_logs(
        self, cluster: str, labels: dict[str, str], at: float, errors_only: bool = False
    ) -> None:
        """The Logs page on what ``labels`` name (a pod, a namespace, else the cluster's
        application lines; only their errors), 15 min before ``at`` to 5 min after."""
        moment = datetime.fromtimestamp(at, UTC)
        self.show_view("logs")
        query = logql_for(labels, errors_only=errors_only)
        self.logs.show_query(cluster, query, moment - JUMP_BEFORE, moment + JUMP_AFTER)

    def open_trace(self, cluster: str, trace_id: str) -> None:
        """The Traces page on one trace (from a log line that names it)."""
        self.show_view("traces")
        self.traces.open_trace(cluster, trace_id)

    def open_traces(self, cluster: str, service: str, at: float) -> None:
        """The Traces page on a service's failing traces around ``at``."""
        moment = datetime.fromtimestamp(at, UTC)
        self.show_view("traces")
        self.traces.search_for(cluster, service, moment - JUMP_BEFORE, moment + JUMP_AFTER,
                               errors=True)  # fmt: skip

    def analyse_at(self, cluster: str, at: float) -> None:
        """The root cause of what changed on ``cluster`` around ``at`` (from an anomaly): the
        Incidents page's Root cause tab shows it."""
        self.show_view("incidents")
        self.presenters.incidents.analyse_at(cluster, at)

    def _on_cluster_list_selected(self, name: str) -> None:
        if self._clusters:
            self.show_cluster(name)

    def _on_presenter_error(self, message: str) -> None:
        self.statusBar().showMessage(message, 15000)

    def _on_presenter_task_failed(self, message: str) -> None:
        self.statusBar().showMessage(f"Background task failed: {message}", 15000)

    def _refresh_status(self) -> None:
        """How many clusters, and in which states: the fleet's one truth's (hub members
        included); until it has spoken, only how many are registered."""
        offered = set(self.cluster_names())  # a cluster removed since the truth spoke is not
        truths = [t for t in self._truth.clusters if t.name in offered] if self._truth else []
        judged = {t.name for t in truths}
        new = [c for c in self._clusters if c.name not in judged and c.kind is ClusterKind.CLUSTER]
        if self._truth is not None:
            counts = Counter(t.state.value for t in truths)
            parts = [count(len(truths) + len(new), "cluster")]
            parts += [f"{n} {state.lower()}" for state, n in sorted(counts.items())]
            parts += [f"{len(new)} not judged yet"] if new else []  # added since it spoke
        else:
            parts = [count(len(self._clusters), "cluster"), "not judged yet"]
        self.status_clusters.setText(" · ".join(parts))

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        self.sig_closed.emit()
