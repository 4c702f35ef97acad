"""The main window: cluster list, dashboard area, status bar; first run shows the empty state."""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models import Cluster
from ui.dialogs.add_cluster import AddClusterDialog
from ui.dialogs.import_kubeconfig import ImportKubeconfigDialog
from ui.presenters.registry import RegistryPresenter
from ui.theme import Theme
from ui.views.cluster_list import ClusterListView
from ui.views.cluster_overview import ClusterOverviewView
from ui.views.empty_state import EmptyStateView

CAPTURE_UNAVAILABLE = "Opening offline captures (.aiops files) is not available in this build yet."


class MainWindow(QMainWindow):
    def __init__(self, presenter: RegistryPresenter, theme: Theme) -> None:
        super().__init__()
        self._presenter = presenter
        self._theme = theme
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
        self.cluster_list = ClusterListView(self._theme)
        self.cluster_list.setMinimumWidth(240)
        self.cluster_list.sig_selected.connect(self._on_cluster_list_selected)
        self.stack = QStackedWidget()
        self.empty_state = EmptyStateView()
        self.empty_state.sig_import_kubeconfig.connect(self.open_import_dialog)
        self.empty_state.sig_add_cluster.connect(self.open_add_dialog)
        self.empty_state.capture_button.setEnabled(False)
        self.empty_state.capture_button.setToolTip(CAPTURE_UNAVAILABLE)
        self.overview = ClusterOverviewView(self._theme)
        self.overview.sig_remove_requested.connect(self._on_overview_remove_requested)
        self.stack.addWidget(self.empty_state)
        self.stack.addWidget(self.overview)
        self.splitter.addWidget(self.cluster_list)
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

    def _setup_menu(self) -> None:
        menu = self.menuBar().addMenu("&File")
        actions = (
            ("&Import kubeconfig…", "Ctrl+I", self.open_import_dialog),
            ("&Add cluster…", "Ctrl+N", self.open_add_dialog),
        )
        for text, shortcut, slot in actions:
            action = QAction(text, self)
            action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(slot)
            menu.addAction(action)
        capture = QAction("&Open capture…", self)
        capture.setEnabled(False)
        capture.setToolTip(CAPTURE_UNAVAILABLE)
        menu.addAction(capture)
        menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        menu.addAction(quit_action)

    # -- user actions --------------------------------------------------------------------
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
        self._clusters = clusters
        self.cluster_list.show_clusters(clusters)
        self.cluster_list.setVisible(bool(clusters))
        if not clusters:
            self.stack.setCurrentWidget(self.empty_state)
        else:
            self._on_cluster_list_selected(self.cluster_list.selected_name() or clusters[0].name)
        self._refresh_status()

    def _on_cluster_list_selected(self, name: str) -> None:
        cluster = next((c for c in self._clusters if c.name == name), None)
        if cluster is not None:
            self.overview.show_cluster(cluster)
            self.stack.setCurrentWidget(self.overview)

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
