"""The one Qt bootstrap of the window and the wall: environment, QApplication, theme, the
qasync loop, logging, and the Core opened off the UI thread (the cache, or a capture).

``run_qt(args, paths, program)`` runs ``await program(core, theme)`` on the qasync loop and
returns its exit code; a cache or capture that cannot be opened ends it with the error's own
exit code (and a message box where a person is looking).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiops_desktop.logs import configure_logging, shutdown_logging
from aiops_desktop.models.enums import UserRole
from aiops_desktop.models.errors import AppError
from aiops_desktop.settings import AppPaths, resources_dir

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance
    from PySide6.QtWidgets import QWidget

    from aiops_desktop.services.core import Core
    from ui.theme import Theme

Program = Callable[["Core", "Theme"], Awaitable[int]]


def prepare_qt_environment(*, offscreen: bool) -> None:
    """One binding everywhere; offscreen needs no display."""
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


async def settle(turns: int = 5) -> None:
    """Let Qt lay out and paint what was just shown: a few turns of the loop (each one runs
    Qt's posted events), not a fixed wait."""
    for _ in range(turns):
        await asyncio.sleep(0.01)


def save_screenshot(window: QWidget, path: str | os.PathLike[str]) -> Path:
    """``window`` as it is drawn once its pending layouts are done (a label whose text just
    grew is drawn at its new width, not cut at the old one)."""
    from PySide6.QtCore import QCoreApplication, QEvent

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
    if not window.grab().save(str(target), "PNG"):
        raise OSError(f"could not write the screenshot {target}")
    return target


def requested_role(args: argparse.Namespace) -> UserRole | None:
    """The wall always runs as viewer; the window as ``--role`` says (or the account's)."""
    if getattr(args, "command", None) == "wall":
        return UserRole.VIEWER
    role: UserRole | None = getattr(args, "role", None)
    return role


async def _open_core(args: argparse.Namespace, paths: AppPaths) -> Core:
    from aiops_desktop.services.core import Core

    role = requested_role(args)

    if args.capture:
        from aiops_desktop.services.outputs.capture import open_capture
        from aiops_desktop.settings import Settings

        def opened() -> Core:
            own = Settings.load(paths.settings_file)[0]  # the person's, never the file's
            return open_capture(Path(args.capture), reports_dir=paths.reports_dir, person=own,
                                role=role)  # fmt: skip

        return await asyncio.to_thread(lambda: opened().assemble())
    return await asyncio.to_thread(lambda: Core.open(paths, role=role).assemble())


async def run_program(
    args: argparse.Namespace, paths: AppPaths, theme: Theme, program: Program, *, explain: bool
) -> int:
    """Open the Core (the cache, or ``--capture``) off the UI thread and run ``program``."""
    try:
        core = await _open_core(args, paths)
    except AppError as exc:
        sys.stderr.write(f"aiops-desktop: error: {exc}\n")
        if explain and not args.offscreen:
            from PySide6.QtWidgets import QMessageBox

            what = "the capture" if args.capture else "its cache"
            QMessageBox.critical(None, f"AIOps Desktop cannot open {what}", str(exc))
        return exc.exit_code
    return await program(core, theme)


def run_qt(
    args: argparse.Namespace, paths: AppPaths, program: Program, *, explain: bool = True
) -> int:
    """``explain``: show a message box when the cache cannot be opened (not on the wall: an
    unattended screen has nobody to close it)."""
    prepare_qt_environment(offscreen=args.offscreen)
    import qasync
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from aiops_desktop.settings import Settings
    from ui.theme import apply_theme, chosen_theme, load_theme

    configure_logging(paths.ensure().log_file, stderr=args.verbose)
    app = QApplication.instance() or QApplication(["aiops-desktop"])
    assert isinstance(app, QApplication)
    app.setApplicationName("aiops-desktop")
    app.setApplicationDisplayName("AIOps Desktop")
    app.setDesktopFileName("aiops-desktop")
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "aiops-desktop.png")))
    look = Settings.load(paths.settings_file)[0].ui  # the person's, also in a capture's window
    theme = apply_theme(app, load_theme(chosen_theme(look.theme), look.font_scale))
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(run_program(args, paths, theme, program, explain=explain))
    finally:
        loop.close()
        asyncio.set_event_loop(None)
        shutdown_logging()
