"""The wall as its own program (``aiops-desktop wall``): a Core, the poller, the wall presenter
and the locked full-screen window on the chosen monitor. No main window, no dialogs."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from aiops_desktop.models.errors import EXIT_USAGE, AppError, UsageError
from aiops_desktop.qt_boot import WINDOW_SIZE, run_qt, save_screenshot, settle, wait_signal
from aiops_desktop.services.core import Core
from aiops_desktop.services.runtime.one_per_cache import LIVE_DETECTION_LOCK, run_alone
from aiops_desktop.settings import AppPaths

if TYPE_CHECKING:
    from PySide6.QtGui import QScreen

    from ui.theme import Theme

FIRST_MODEL_WAIT_S = 20.0


class WallApp:
    def __init__(
        self, core: Core, theme: Theme, *, pages: list[str], rotate_s: float,
        refresh_ms: int = 2000,
    ) -> None:  # fmt: skip
        from PySide6.QtWidgets import QApplication

        from ui.charts import configure_pyqtgraph
        from ui.gc_guard import MainThreadGarbageCollector
        from ui.presenters.wall import WallPresenter
        from ui.wall.window import WallWindow

        QApplication.setQuitOnLastWindowClosed(False)
        configure_pyqtgraph(theme)
        self.core = core
        self.gc_guard = MainThreadGarbageCollector()
        self.gc_guard.start()
        self.presenter = WallPresenter(
            wall=core.wall, pages=pages, tasks=core.supervisor, refresh_ms=refresh_ms
        )
        self.window = WallWindow(theme, rotate_s)
        self.presenter.sig_model.connect(self.window.show_model)
        self.presenter.sig_stale.connect(self.window.show_stale)
        self._placed: tuple[int, tuple[int, int] | None] | None = None  # ``place``'s arguments
        self._screens_followed = False

    def place(self, screen: int, size: tuple[int, int] | None = None) -> None:
        """Full screen on monitor ``screen`` (0 is the first); ``size`` instead for a fixed
        window (screenshots)."""
        from PySide6.QtGui import QGuiApplication

        screens = QGuiApplication.screens()
        if not 0 <= screen < len(screens):
            raise UsageError(f"there is no screen {screen}: this machine has {len(screens)}")
        self._placed = (screen, size)
        self._show_on(screens[screen], size)
        if not self._screens_followed:  # a monitor plugged in or out: placed again
            app = QGuiApplication.instance()
            assert isinstance(app, QGuiApplication)
            app.screenAdded.connect(self._screens_changed)
            app.screenRemoved.connect(self._screens_changed)
            self._screens_followed = True

    def _show_on(self, chosen: QScreen, size: tuple[int, int] | None) -> None:
        self.window.setScreen(chosen)
        self.window.keep_full_screen(size is None)
        if size is not None:
            self.window.setGeometry(chosen.geometry().x(), chosen.geometry().y(), *size)
            self.window.show()
        else:
            self.window.setGeometry(chosen.geometry())
            self.window.showFullScreen()

    def _screens_changed(self, _screen: QScreen | None = None) -> None:
        """A screen was added or removed: the wall placed again on its monitor, or on the
        primary one while its monitor is gone (never left on a screen that is no more)."""
        from PySide6.QtGui import QGuiApplication

        if self._placed is None:
            return
        screen, size = self._placed
        screens = QGuiApplication.screens()
        chosen = screens[screen] if screen < len(screens) else QGuiApplication.primaryScreen()
        if chosen is not None:
            self._show_on(chosen, size)

    def _unfollow_screens(self) -> None:
        from PySide6.QtGui import QGuiApplication

        app = QGuiApplication.instance()
        if self._screens_followed and isinstance(app, QGuiApplication):
            app.screenAdded.disconnect(self._screens_changed)
            app.screenRemoved.disconnect(self._screens_changed)
        self._screens_followed = False
        self._placed = None

    async def load(self) -> None:
        await self.core.registry.load()
        if self.core.capture is None:
            self.core.supervisor.spawn(
                self.core.maintain(),
                name="cache-maintenance",
            )
            # a cluster the CLI adds while this runs is polled without a restart
            self.core.supervisor.spawn(self.core.registry.follow_store(), name="clusters-added")
            self.core.poller.start()
            # the fleet's findings hold the last hour's anomalies (the window's detection
            # writes them too, but a NOC PC may run the wall alone); stopped with the Core
            self.core.supervisor.spawn(
                run_alone(self.core.paths.data_dir / LIVE_DETECTION_LOCK,
                          self.core.anomalies.run_live),
                name="anomaly-detection",
            )  # fmt: skip
        # the fleet's one truth: findings read every minute (a capture's recorded answers too),
        # incidents regrouped after each (the window does too: they share the cache's store)
        # and read for the incidents page
        self.core.incidents.follow(self.core.supervisor)
        self.core.supervisor.spawn(self.core.fleet.run(), name="fleet-truth")
        self.core.supervisor.spawn(self.core.wall.follow_incidents(), name="wall-incidents")
        self.presenter.start()
        self.gc_guard.freeze()  # what start-up made lives on: full collections skip it

    async def close(self) -> None:
        self._unfollow_screens()
        self.presenter.stop()
        self.window.allow_close()
        self.window.close()
        await self.core.shutdown()
        self.window.deleteLater()
        self.presenter.deleteLater()
        self.gc_guard.stop()


async def _wall(args: argparse.Namespace, core: Core, theme: Theme) -> int:
    wall = WallApp(core, theme, pages=args.pages, rotate_s=args.rotate)
    try:
        wall.place(args.screen, window_size(args))
        await wall.load()
        if args.screenshot:
            await wait_signal(wall.presenter.sig_model, FIRST_MODEL_WAIT_S)
            await settle()  # let the tiles lay out and paint
            save_screenshot(wall.window, args.screenshot)
            return 0
        await wait_signal(wall.window.sig_exit_requested, timeout=None)
        return 0
    except AppError as exc:
        sys.stderr.write(f"aiops-desktop: error: {exc}\n")
        return exc.exit_code
    finally:
        await wall.close()


def window_size(args: argparse.Namespace) -> tuple[int, int] | None:
    """The wall's window: full screen (None), or ``--size`` where one is given (a window of
    that size on the chosen screen); a screenshot's, the window's size unless given."""
    if args.size is not None:
        return args.size  # the parser's size(): a (w, h)
    return WINDOW_SIZE if args.screenshot else None


def run_wall(args: argparse.Namespace, paths: AppPaths) -> int:
    """The wall as its own program; a cache that cannot be opened is said on stderr only
    (an unattended screen has nobody to close a message box). ``--view`` is the window's:
    refused, not ignored."""
    if args.view is not None:
        sys.stderr.write("aiops-desktop: error: --view is the window's: the wall shows its "
                         "own pages, chosen with --pages\n")  # fmt: skip
        return EXIT_USAGE
    return run_qt(args, paths, lambda core, theme: _wall(args, core, theme), explain=False)
