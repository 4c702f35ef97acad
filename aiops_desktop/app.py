"""The GUI composition root: Qt application, qasync loop, core services, presenters, window.

``aiops-desktop`` opens the window; ``--offscreen --screenshot PATH [--view NAME] [--size WxH]``
renders it to a PNG once the view has its data, then exits (tests and reviewers use this).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiops_desktop.logs import configure_logging, shutdown_logging
from aiops_desktop.models import EndpointKind
from aiops_desktop.secrets import SecretsError
from aiops_desktop.services.capture import CaptureError, open_capture
from aiops_desktop.services.core import Core
from aiops_desktop.services.maintenance import maintenance_loop
from aiops_desktop.services.poller import Source
from aiops_desktop.settings import AppPaths, resources_dir
from aiops_desktop.store import StoreError

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance

    from ui.main_window import MainWindow
    from ui.presenters.registry import RegistryPresenter
    from ui.theme import Theme

LOAD_TIMEOUT_S = 30.0
FIRST_POLL_TIMEOUT_S = 20.0


def prepare_qt_environment(*, offscreen: bool) -> None:
    """One binding everywhere (STYLE.md habit 7); offscreen needs no display."""
    os.environ.setdefault("QT_API", "pyside6")
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    if offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def headless_theme() -> Theme:
    """The app's theme, with a QApplication to draw in (an offscreen one for the CLI)."""
    from PySide6.QtWidgets import QApplication

    from ui.charts import configure_pyqtgraph
    from ui.theme import load_theme

    if QApplication.instance() is None:
        prepare_qt_environment(offscreen=True)
        QApplication(["aiops-desktop"])
    theme = load_theme()
    configure_pyqtgraph(theme)
    return theme


async def wait_signal(signal: SignalInstance, timeout: float | None) -> tuple[Any, ...]:
    """Await one emission of a Qt signal without blocking the loop."""
    future: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

    def on_emit(*args: Any) -> None:
        if not future.done():
            future.set_result(args)

    signal.connect(on_emit)
    try:
        return await asyncio.wait_for(future, timeout)
    finally:
        signal.disconnect(on_emit)


class DesktopApp:
    """The windowed app over a Core: one presenter, one main window."""

    def __init__(self, core: Core, theme: Theme) -> None:
        from PySide6.QtWidgets import QApplication

        from ui.gc_guard import MainThreadGarbageCollector
        from ui.main_window import MainWindow
        from ui.presenters.registry import RegistryPresenter

        # The app ends its loop itself after an orderly shutdown (see close), so Qt must not
        # stop the loop the moment the last window closes.
        QApplication.setQuitOnLastWindowClosed(False)
        self.gc_guard = MainThreadGarbageCollector()
        self.gc_guard.start()
        from ui.charts import configure_pyqtgraph
        from ui.main_window import MonitoringPresenters
        from ui.presenters.console import ConsolePresenter
        from ui.presenters.fleet_hw import (
            DriftPresenter,
            GpuPresenter,
            PtpPresenter,
            SriovPresenter,
        )
        from ui.presenters.kube import KubePresenter
        from ui.presenters.monitoring import (
            AlertsPresenter,
            AnomaliesPresenter,
            DashboardPresenter,
            DiagnosticsPresenter,
            FleetPresenter,
        )
        from ui.presenters.reports import ReportsPresenter

        configure_pyqtgraph(theme)
        self.core = core
        self.presenter: RegistryPresenter = RegistryPresenter(core)
        self.monitoring = MonitoringPresenters(
            fleet=FleetPresenter(core),
            dashboard=DashboardPresenter(core),
            alerts=AlertsPresenter(core),
            diagnostics=DiagnosticsPresenter(core),
            console=ConsolePresenter(core),
            anomalies=AnomaliesPresenter(core),
            kube=KubePresenter(core),
            gpu=GpuPresenter(core),
            ptp=PtpPresenter(core),
            sriov=SriovPresenter(core),
            drift=DriftPresenter(core),
            reports=ReportsPresenter(core, theme),
        )
        self.window: MainWindow = MainWindow(self.presenter, theme, self.monitoring)

    async def load(self) -> None:
        loaded = wait_signal(self.presenter.sig_loaded, LOAD_TIMEOUT_S)
        self.presenter.load()
        await loaded
        if self.core.capture is None:  # a capture is read as it is: no polling, no discovery
            self.core.supervisor.spawn(
                maintenance_loop(self.core.registry, self.core.series, self.core.alert_events),
                name="cache-maintenance",
            )
            self.core.poller.start()
            self.core.supervisor.spawn(self.core.anomalies.run_live(), name="anomaly-detection")
            self.core.supervisor.spawn(self.core.discovery.run_periodic(), name="discovery")
        for presenter in (
            self.monitoring.fleet,
            self.monitoring.alerts,
            self.monitoring.diagnostics,
            self.monitoring.anomalies,
        ):
            presenter.start()

    async def first_poll(self, timeout: float = FIRST_POLL_TIMEOUT_S) -> None:
        """Wait until every source of every cluster has finished one poll (screenshots)."""

        def done() -> bool:
            wanted = [(c.name, s) for c in self.core.registry.clusters() for s in (Source.HEALTH,)]
            wanted += [
                (c.name, Source.METRICS)
                for c in self.core.registry.clusters()
                if c.endpoint(EndpointKind.PROMETHEUS)
            ]
            status = self.core.poller.status
            return all(key in status and status[key].latency_ms is not None for key in wanted)

        deadline = asyncio.get_running_loop().time() + timeout
        while not done() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        for presenter in (
            self.monitoring.fleet,
            self.monitoring.alerts,
            self.monitoring.diagnostics,
        ):
            presenter.refresh()
        self.monitoring.dashboard.redraw()

    async def close(self) -> None:
        for presenter in (
            self.monitoring.fleet,
            self.monitoring.alerts,
            self.monitoring.diagnostics,
            self.monitoring.dashboard,
            self.monitoring.anomalies,
            self.monitoring.kube,
            self.monitoring.gpu,
            self.monitoring.ptp,
            self.monitoring.sriov,
            self.monitoring.drift,
        ):
            presenter.stop()
        self.presenter.close()
        await self.core.shutdown()
        self.window.close()
        self.window.deleteLater()
        self.presenter.deleteLater()
        self.gc_guard.stop()


#: Views reachable by ``--view`` (plus ``cluster:NAME``); later capabilities add theirs here.
VIEWS: dict[str, Callable[[DesktopApp], None]] = {
    "main": lambda app: None,
    "fleet": lambda app: app.window.show_view("fleet"),
    "alerts": lambda app: app.window.show_view("alerts"),
    "diagnostics": lambda app: app.window.show_view("diagnostics"),
    "anomalies": lambda app: app.window.show_view("anomalies"),
    "console": lambda app: app.window.show_view("console"),
    "gpu": lambda app: app.window.show_view("gpu"),
    "ptp": lambda app: app.window.show_view("ptp"),
    "sriov": lambda app: app.window.show_view("sriov"),
    "drift": lambda app: app.window.show_view("drift"),
    "reports": lambda app: app.window.show_view("reports"),
}


def view_action(name: str) -> Callable[[DesktopApp], None] | None:
    for prefix in ("cluster:", "details:"):
        if name.startswith(prefix) and len(name) > len(prefix):
            return lambda app: app.window.show_view(name)
    return VIEWS.get(name)


def save_screenshot(window: MainWindow, path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(target), "PNG"):
        raise OSError(f"could not write the screenshot {target}")
    return target


async def _gui_main(args: argparse.Namespace, paths: AppPaths, theme: Theme) -> int:
    from PySide6.QtWidgets import QMessageBox

    try:
        if args.capture:
            core = await asyncio.to_thread(open_capture, Path(args.capture))
        else:
            core = await asyncio.to_thread(Core.open, paths)
    except (StoreError, SecretsError, CaptureError) as exc:
        sys.stderr.write(f"aiops-desktop: error: {exc}\n")
        if not args.offscreen:
            what = "the capture" if args.capture else "its cache"
            QMessageBox.critical(None, f"AIOps Desktop cannot open {what}", str(exc))
        return 2 if isinstance(exc, CaptureError) else 1
    desktop = DesktopApp(core, theme)
    try:
        desktop.window.resize(*args.size)
        desktop.window.show()
        await desktop.load()
        action = view_action(args.view)
        assert action is not None
        action(desktop)
        if args.screenshot:
            await desktop.first_poll()
            await asyncio.sleep(0.3)  # let layouts settle and paint once
            save_screenshot(desktop.window, args.screenshot)
            return 0
        await wait_signal(desktop.window.sig_closed, timeout=None)
        return 0
    finally:
        await desktop.close()


def run_gui(args: argparse.Namespace, paths: AppPaths) -> int:
    if view_action(args.view) is None:
        choices = ", ".join([*VIEWS, "cluster:NAME"])
        sys.stderr.write(
            f"aiops-desktop: error: unknown view {args.view!r}; choose from {choices}\n"
        )
        return 2
    prepare_qt_environment(offscreen=args.offscreen)
    import qasync
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from ui.theme import apply_theme

    configure_logging(paths.ensure().log_file, stderr=args.verbose)
    app = QApplication.instance() or QApplication(["aiops-desktop"])
    assert isinstance(app, QApplication)
    app.setApplicationName("aiops-desktop")
    app.setApplicationDisplayName("AIOps Desktop")
    app.setDesktopFileName("aiops-desktop")
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "aiops-desktop.png")))
    theme = apply_theme(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(_gui_main(args, paths, theme))
    finally:
        loop.close()
        asyncio.set_event_loop(None)
        shutdown_logging()
