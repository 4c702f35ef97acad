"""The wall as its own program (``aiops-desktop wall``): a Core, the poller, the wall presenter
and the locked full-screen window on the chosen monitor. No main window, no dialogs."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from aiops_desktop.app import prepare_qt_environment, save_screenshot, wait_signal
from aiops_desktop.logs import configure_logging, shutdown_logging
from aiops_desktop.secrets import SecretsError
from aiops_desktop.services.capture import CaptureError, open_capture
from aiops_desktop.services.core import Core
from aiops_desktop.services.maintenance import maintenance_loop
from aiops_desktop.settings import AppPaths
from aiops_desktop.store import StoreError

if TYPE_CHECKING:
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
        self.presenter = WallPresenter(core, pages, refresh_ms)
        self.window = WallWindow(theme, rotate_s)
        self.presenter.sig_model.connect(self.window.show_model)

    def place(self, screen: int, size: tuple[int, int] | None = None) -> None:
        """Full screen on monitor ``screen`` (0 is the first); ``size`` instead for a fixed
        window (screenshots)."""
        from PySide6.QtGui import QGuiApplication

        screens = QGuiApplication.screens()
        if not 0 <= screen < len(screens):
            raise ValueError(f"there is no screen {screen}: this machine has {len(screens)}")
        chosen = screens[screen]
        self.window.setScreen(chosen)
        if size is not None:
            self.window.setGeometry(chosen.geometry().x(), chosen.geometry().y(), *size)
            self.window.show()
        else:
            self.window.setGeometry(chosen.geometry())
            self.window.showFullScreen()

    async def load(self) -> None:
        await self.core.registry.load()
        if self.core.capture is None:
            self.core.supervisor.spawn(
                maintenance_loop(self.core.registry, self.core.series, self.core.alert_events),
                name="cache-maintenance",
            )
            self.core.poller.start()
        self.presenter.start()

    async def close(self) -> None:
        self.presenter.stop()
        self.window.allow_close()
        self.window.close()
        await self.core.shutdown()
        self.window.deleteLater()
        self.presenter.deleteLater()
        self.gc_guard.stop()


async def _wall_main(args: argparse.Namespace, paths: AppPaths, theme: Theme) -> int:
    try:
        if args.capture:
            core = await asyncio.to_thread(open_capture, args.capture)
        else:
            core = await asyncio.to_thread(Core.open, paths)
    except (StoreError, SecretsError, CaptureError) as exc:
        sys.stderr.write(f"aiops-desktop: error: {exc}\n")
        return 2 if isinstance(exc, CaptureError) else 1
    wall = WallApp(core, theme, pages=args.pages, rotate_s=args.rotate)
    try:
        wall.place(args.screen, args.size if args.screenshot else None)
        await wall.load()
        if args.screenshot:
            await wait_signal(wall.presenter.sig_model, FIRST_MODEL_WAIT_S)
            await asyncio.sleep(0.5)  # let the tiles lay out and paint
            save_screenshot(wall.window, args.screenshot)
            return 0
        await wait_signal(wall.window.sig_exit_requested, timeout=None)
        return 0
    except ValueError as exc:
        sys.stderr.write(f"aiops-desktop: error: {exc}\n")
        return 2
    finally:
        await wall.close()


def run_wall(args: argparse.Namespace, paths: AppPaths) -> int:
    prepare_qt_environment(offscreen=args.offscreen)
    import qasync
    from PySide6.QtWidgets import QApplication

    from ui.theme import apply_theme

    configure_logging(paths.ensure().log_file, stderr=args.verbose)
    app = QApplication.instance() or QApplication(["aiops-desktop"])
    assert isinstance(app, QApplication)
    app.setApplicationName("aiops-desktop")
    theme = apply_theme(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(_wall_main(args, paths, theme))
    finally:
        loop.close()
        asyncio.set_event_loop(None)
        shutdown_logging()
