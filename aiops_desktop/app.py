"""The GUI composition root: Qt application, qasync loop, core services, presenters, window.

``aiops-desktop`` opens the window; ``--offscreen --screenshot PATH [--view NAME] [--size WxH]``
renders it to a PNG once the view has its data, then exits (tests and reviewers use this).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.polling import Source
from aiops_desktop.qt_boot import (
    WINDOW_SIZE,
    run_program,
    run_qt,
    save_screenshot,
    settle,
    wait_signal,
)
from aiops_desktop.services.core import Core
from aiops_desktop.services.intelligence.rca import rca_clusters
from aiops_desktop.services.polling.history import PanelHistory
from aiops_desktop.services.runtime.one_per_cache import LIVE_DETECTION_LOCK, run_alone
from aiops_desktop.settings import AppPaths

if TYPE_CHECKING:
    from ui.main_window import MainWindow
    from ui.presenters import Presenters
    from ui.presenters.capture_export import CaptureExportPresenter
    from ui.theme import Theme

LOAD_TIMEOUT_S = 30.0
FIRST_POLL_TIMEOUT_S = 20.0
#: the window, unless --size says, takes at most this share of its screen's free area
SCREEN_SHARE = 0.9


def build_presenters(core: Core, theme: Theme) -> Presenters:
    """Each presenter gets the services it uses (never the Core)."""
    from ui.presenters import (
        AlertsPresenter,
        AnomaliesPresenter,
        ChatPresenter,
        ConsolePresenter,
        DashboardPresenter,
        DiagnosticsPresenter,
        DriftPresenter,
        FleetPresenter,
        GpuPresenter,
        IncidentsPresenter,
        KubePresenter,
        LogsPresenter,
        Presenters,
        PtpPresenter,
        RegistryPresenter,
        ReportsPresenter,
        SettingsPresenter,
        SriovPresenter,
        TracesPresenter,
    )

    tasks, registry, poller, readers = core.supervisor, core.registry, core.poller, core.gpu_cnf
    return Presenters(
        registry=RegistryPresenter(
            registry=registry, bus=core.bus, tasks=tasks, data_path=core.paths.db_path,
            notices=core.notices, access=core.access,
        ),
        fleet=FleetPresenter(
            registry=registry, fleet=core.fleet, live=core.live, catalog=core.catalog,
            tasks=tasks, poller=poller,
        ),
        alerts=AlertsPresenter(poller=poller, tasks=tasks),
        incidents=IncidentsPresenter(
            incidents=core.incidents, rca=core.rca, bus=core.bus, tasks=tasks, llm=core.llm,
            clusters_of=lambda name: rca_clusters(core.registry, name),
        ),
        anomalies=AnomaliesPresenter(
            anomalies=core.anomalies, fleet=core.fleet, bus=core.bus, tasks=tasks
        ),
        logs=LogsPresenter(logs=core.logs_traces, registry=registry, tasks=tasks, clock=core.now),
        traces=TracesPresenter(logs=core.logs_traces, registry=registry, tasks=tasks,
                               clock=core.now),
        gpu=GpuPresenter(readers=readers, tasks=tasks),
        ptp=PtpPresenter(readers=readers, tasks=tasks),
        sriov=SriovPresenter(readers=readers, tasks=tasks),
        drift=DriftPresenter(readers=readers, tasks=tasks, interval_ms=60_000),
        reports=ReportsPresenter(reports=core.reports, theme=theme, tasks=tasks),
        console=ConsolePresenter(console=core.console, registry=registry, tasks=tasks),
        diagnostics=DiagnosticsPresenter(poller=poller, tasks=tasks, detection=core.anomalies),
        dashboard=DashboardPresenter(
            registry=registry, poller=poller, live=core.live, anomalies=core.anomalies,
            catalog=core.catalog, bus=core.bus, tasks=tasks,
            history=PanelHistory(core.series), fleet=core.fleet,
        ),
        kube=KubePresenter(
            registry=registry, kube=core.kube, discovery=core.discovery, tasks=tasks
        ),
        settings=SettingsPresenter(settings=core.preferences, tasks=tasks, llm=core.llm),
        chat=ChatPresenter(
            chat=core.chat, llm=core.llm, bus=core.bus, tasks=tasks, registry=registry
        ),
    )  # fmt: skip


def capture_export(core: Core) -> CaptureExportPresenter:
    """File > Export capture…'s presenter over ``core``'s cache (the UI reaches the Core only
    through what it is handed here)."""
    from aiops_desktop.services.outputs.capture import export_capture
    from aiops_desktop.services.runtime.outputs import check_output
    from aiops_desktop.store.capture import replaceable
    from ui.presenters.capture_export import CaptureExportPresenter

    return CaptureExportPresenter(
        export=partial(export_capture, core), cluster_names=core.reports.cluster_names,
        folder=core.paths.reports_dir, tasks=core.supervisor,
        check_out=lambda out: replaceable(check_output(out, core.paths)),
    )  # fmt: skip


class DesktopApp:
    """The windowed app over a Core: its presenters and one main window."""

    def __init__(self, core: Core, theme: Theme) -> None:
        from PySide6.QtWidgets import QApplication

        from ui.gc_guard import MainThreadGarbageCollector
        from ui.main_window import MainWindow

        # The app ends its loop itself after an orderly shutdown (see close), so Qt must not
        # stop the loop the moment the last window closes.
        QApplication.setQuitOnLastWindowClosed(False)
        self.gc_guard = MainThreadGarbageCollector()
        self.gc_guard.start()
        self.core = core
        self.presenters = build_presenters(core, theme)
        self.presenter = self.presenters.registry
        self.window: MainWindow = MainWindow(self.presenters, theme)
        if core.capture is None:  # a capture is not exported again
            self.window.attach_capture_export(capture_export(core))

    async def load(self) -> None:
        from ui.pages import PAGES, Runs

        loaded = wait_signal(self.presenter.sig_loaded, LOAD_TIMEOUT_S)
        self.presenter.load()
        await loaded
        if self.core.capture is None:  # a capture is read as it is: no polling, no discovery
            self.core.supervisor.spawn(
                self.core.maintain(),
                name="cache-maintenance",
            )
            # a cluster the CLI adds while this runs is polled without a restart
            self.core.supervisor.spawn(self.core.registry.follow_store(), name="clusters-added")
            self.core.poller.start()
            self.core.supervisor.spawn(
                run_alone(self.core.paths.data_dir / LIVE_DETECTION_LOCK,
                          self.core.anomalies.run_live),
                name="anomaly-detection",
            )  # fmt: skip
            self.core.supervisor.spawn(self.core.discovery.run_periodic(), name="discovery")
        # the fleet's one truth: findings read every minute (a capture's recorded answers too),
        # incidents regrouped after each
        self.core.incidents.follow(self.core.supervisor)
        self.core.supervisor.spawn(self.core.fleet.run(), name="fleet-truth")
        for page in PAGES:
            if page.runs is Runs.ALWAYS:
                self.presenters.page(page.key).start()
        self.gc_guard.freeze()  # what start-up made lives on: full collections skip it

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
            self.presenters.fleet,
            self.presenters.alerts,
            self.presenters.diagnostics,
        ):
            presenter.refresh()
        self.presenters.dashboard.redraw()

    async def close(self) -> None:
        for presenter in self.presenters:
            presenter.close()
        await self.core.shutdown()
        self.window.close()
        self.window.deleteLater()
        for presenter in self.presenters:
            presenter.deleteLater()
        self.gc_guard.stop()


def view_action(name: str) -> Callable[[DesktopApp], None] | None:
    """What ``--view NAME`` does once the window is up (None: no such view)."""
    from ui.pages import view_known

    if not view_known(name):
        return None
    return (lambda app: None) if name == "main" else (lambda app: app.window.show_view(name))


def unknown_view_cluster(view: str, core: Core) -> str | None:
    """Why ``--view cluster:NAME`` (or ``details:NAME``) cannot be shown: NAME is neither
    registered nor a hub's member (it drew an empty page, and a --screenshot of it exited
    0); None where it can, or for a page."""
    from aiops_desktop.services.clusters.registry import ClusterNotFoundError

    kind, _, name = view.partition(":")
    if kind not in ("cluster", "details"):
        return None
    try:
        core.registry.targets([name])
    except ClusterNotFoundError as exc:
        return f"--view {view!r}: {exc}"
    return None


def window_size(args: argparse.Namespace, window: MainWindow) -> tuple[int, int]:
    """--size as given (a screenshot's); else WINDOW_SIZE, shrunk to fit the screen's free
    area (a 1366x768 laptop's would hide the status bar). A screenshot without --size keeps
    WINDOW_SIZE: it is drawn for a file, on no screen."""
    if args.size:
        width, height = args.size
        return int(width), int(height)
    screen = window.screen()
    if args.screenshot or screen is None:
        return WINDOW_SIZE
    free = screen.availableGeometry()
    return (min(WINDOW_SIZE[0], int(free.width() * SCREEN_SHARE)),
            min(WINDOW_SIZE[1], int(free.height() * SCREEN_SHARE)))  # fmt: skip


def child_options(args: argparse.Namespace, paths: AppPaths) -> list[str]:
    """The options a capture window opened from this one is started with: this one's data
    folder where one was given (its log, reports and settings: a portable install's), and
    its role where one was given."""
    return [
        *(["--data-dir", str(paths.data_dir)] if args.data_dir is not None else []),
        *(["--role", args.role.value] if args.role is not None else []),
    ]


async def _gui(args: argparse.Namespace, core: Core, theme: Theme) -> int:
    desktop = DesktopApp(core, theme)
    desktop.window.child_options = child_options(args, core.paths)
    # listened for before the window is shown: a person may close it while the app loads
    # (then the app ends once loaded, instead of polling on with no window)
    closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_closed() -> None:
        if not closed.done():
            closed.set_result(None)

    desktop.window.sig_closed.connect(on_closed)
    try:
        desktop.window.resize(*window_size(args, desktop.window))
        desktop.window.show()
        await desktop.load()
        if closed.done():
            return 0
        refused = unknown_view_cluster(args.view or "main", core)
        if refused:
            sys.stderr.write(f"aiops-desktop: error: {refused}\n")
            return 2
        action = view_action(args.view or "main")
        assert action is not None
        action(desktop)
        if args.screenshot:
            await desktop.first_poll()
            await settle()  # let layouts settle and paint once
            save_screenshot(desktop.window, args.screenshot)
            return 0
        await closed
        return 0
    finally:
        desktop.window.sig_closed.disconnect(on_closed)
        await desktop.close()


async def gui_main(args: argparse.Namespace, paths: AppPaths, theme: Theme) -> int:
    """The window's program on a running qasync loop: open the cache (or capture), run."""
    return await run_program(
        args, paths, theme, lambda core, theme: _gui(args, core, theme), explain=True
    )


def run_gui(args: argparse.Namespace, paths: AppPaths) -> int:
    if view_action(args.view or "main") is None:
        from ui.pages import view_choices

        choices = view_choices()
        sys.stderr.write(
            f"aiops-desktop: error: unknown view {args.view!r}; choose from {choices}\n"
        )
        return 2
    return run_qt(args, paths, lambda core, theme: _gui(args, core, theme))
