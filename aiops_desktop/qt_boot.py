"""The one Qt bootstrap of the window and the wall: environment, QApplication, theme, the
qasync loop, logging, and the Core opened off the UI thread (the cache, or a capture).

``run_qt(args, paths, program)`` runs ``await program(core, theme)`` on the qasync loop and
returns its exit code; a cache or capture that cannot be opened ends it with the error's own
exit code (and a message box where a person is looking). SIGTERM (a service manager's stop)
and SIGINT (Ctrl+C) close it in order, as closing its window does: the program is cancelled
and its own ``finally`` closes what it opened (the Core's shutdown drains the cache's writer).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiops_desktop.logs import configure_logging, shutdown_logging
from aiops_desktop.models.enums import UserRole
from aiops_desktop.models.errors import AlreadyExistsError, AppError, UsageError
from aiops_desktop.services.runtime.outputs import check_output
from aiops_desktop.settings import AppPaths, resources_dir

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance
    from PySide6.QtWidgets import QWidget

    from aiops_desktop.services.core import Core
    from ui.theme import Theme

Program = Callable[["Core", "Theme"], Awaitable[int]]

log = logging.getLogger("aiops.app")

#: the signals that close the app in order, and the exit code each leaves once it has: a
#: stop asked for (a service manager's) is a success, as closing the window is; Ctrl+C the
#: shell's 130, so that a script's loop stops too
STOP_SIGNALS: dict[signal.Signals, int] = {signal.SIGTERM: 0, signal.SIGINT: 130}
WAKE_MS = 250  # where Python's own handler is used: how often Qt lets Python run it

#: the window's size unless ``--size`` says (the wall's: full screen unless it says)
WINDOW_SIZE = (1400, 900)

#: the desktop entry the .deb installs (briefcase's bundle identifier: ``bundle.app_name``);
#: the window names it, so that a desktop groups the window under that entry's name and icon
DESKTOP_FILE_ID = "io.aiopsdesktop.aiops-desktop"

#: Qt platforms that need an X11 or Wayland display (unset: Qt picks xcb or wayland itself)
DISPLAY_PLATFORMS = frozenset({"xcb", "wayland", "wayland-egl", "wayland-brcm"})

NO_DISPLAY = (
    "no display: set DISPLAY (X11) or WAYLAND_DISPLAY to open the window; --offscreen "
    "--screenshot FILE draws it without one, and the commands (aiops-desktop --help) need none"
)


def require_display(environ: Mapping[str, str]) -> None:
    """A ``UsageError`` (exit 2) where the window would need a display that is not there: Qt
    aborts then (SIGABRT, a core) blaming libxcb-cursor0, which is installed. A display that
    is named but does not answer is found with one connection, as Qt would make: a Wayland
    socket nobody accepts on (a WAYLAND_DISPLAY left from a desktop that is gone, in tmux or
    after ``su``), then an X display (a stale DISPLAY from ssh or tmux, with libxcb's; without
    libxcb, Qt says what is missing itself). Either answering is enough."""
    if not sys.platform.startswith("linux"):
        return
    asked = {p.split(":")[0].strip() for p in environ.get("QT_QPA_PLATFORM", "").split(";")}
    asked.discard("")
    if asked and not asked <= DISPLAY_PLATFORMS:  # offscreen, minimal, vnc, eglfs, ...
        return
    display, wayland = environ.get("DISPLAY", ""), environ.get("WAYLAND_DISPLAY", "")
    if not display and not wayland:
        raise UsageError(NO_DISPLAY)
    socket_path = _wayland_socket(wayland, environ) if wayland else None
    if wayland and socket_path is not None and _wayland_answers(socket_path):
        return
    if display and _x_display_answers(display):
        return
    found = []
    if wayland:
        why = (f"no compositor accepts at {socket_path}" if socket_path else
               "XDG_RUNTIME_DIR, where it would be, is not set")  # fmt: skip
        found.append(f"a stale Wayland socket {wayland} (WAYLAND_DISPLAY): {why}")
    if display:
        found.append(f"cannot open the display {display} (DISPLAY): no X server answers "
                     "there, or this user may not use it (XAUTHORITY)")  # fmt: skip
    raise UsageError(
        f"{'; '.join(found)}; set DISPLAY or WAYLAND_DISPLAY to a running one, or use "
        "--offscreen --screenshot FILE or a command (aiops-desktop --help)"
    )


#: how long a Wayland socket is given to accept: a live compositor's is at once (a local socket)
WAYLAND_CONNECT_S = 0.5


def _wayland_socket(wayland: str, environ: Mapping[str, str]) -> str | None:
    """Where libwayland connects for ``wayland``: itself when absolute, else in
    XDG_RUNTIME_DIR (None where that is not set: libwayland connects nowhere then)."""
    if os.path.isabs(wayland):
        return wayland
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    return os.path.join(runtime, wayland) if runtime else None


def _wayland_answers(path: str) -> bool:
    """Whether a compositor accepts a connection at ``path`` (closed at once)."""
    import socket

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(WAYLAND_CONNECT_S)
            probe.connect(path)
    except OSError:  # none there, refused (the compositor gone), too long a path, a timeout
        return False
    return True


def _x_display_answers(display: str) -> bool:
    import ctypes

    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return True
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)  # never NULL: an error connection
    try:
        return bool(xcb.xcb_connection_has_error(connection) == 0)
    finally:
        xcb.xcb_disconnect(connection)


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
    # a folder that is not there is said, not made: a mistyped path made a tree of folders
    if not target.parent.is_dir():
        raise UsageError(
            f"cannot write the screenshot {target}: the folder {target.parent} does not exist"
        )
    if target.is_dir():
        raise UsageError(f"cannot write the screenshot {target}: it is a folder")
    QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
    if not window.grab().save(str(target), "PNG"):
        raise UsageError(f"cannot write the screenshot {target}: it could not be saved there")
    return target


def checked_screenshot(
    path: str | os.PathLike[str], paths: AppPaths, *, force: bool = False,
    capture: Path | None = None,
) -> Path:  # fmt: skip
    """``--screenshot PATH`` made absolute once it is safe to write: never the cache, the
    settings or a log (a PNG over the cache lost every registered cluster), never a folder or a
    device, and in a folder that exists; never ``capture``, the file being shown, and a file
    with something in it only with ``force`` (as ``report --out``: a person's notes were
    written over). A ``UsageError`` (exit 2), or ``AlreadyExistsError`` (5), says why not."""
    try:
        target = check_output(Path(path), paths, capture=capture)
    except UsageError as exc:
        raise UsageError(f"cannot write the screenshot: {exc}") from exc
    if not force and target.is_file() and target.stat().st_size:
        raise AlreadyExistsError(f"cannot write the screenshot: {target} already exists: "
                                 "give --force to replace it")  # fmt: skip
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
    """Open the Core (the cache, or ``--capture``) off the UI thread and run ``program``; an
    ``AppError`` it raises (a screenshot that cannot be written) is said in a line."""
    opening = asyncio.ensure_future(_open_core(args, paths))
    try:
        core = await asyncio.shield(opening)
    except asyncio.CancelledError:  # stopped (a signal) while it opened: closed once open
        with contextlib.suppress(AppError):
            await (await opening).shutdown()
        raise
    except AppError as exc:
        sys.stderr.write(f"aiops-desktop: error: {exc}\n")
        if explain and not args.offscreen:
            from PySide6.QtWidgets import QMessageBox

            what = "the capture" if args.capture else "its cache"
            QMessageBox.critical(None, f"AIOps Desktop cannot open {what}", str(exc))
        return exc.exit_code
    try:
        return await program(core, theme)
    except AppError as exc:  # the program has closed what it opened (its ``finally``)
        sys.stderr.write(f"aiops-desktop: error: {exc}\n")
        return exc.exit_code


class StopOnSignals:
    """SIGTERM and SIGINT cancel the running program ``task``, once: its own ``finally``
    closes the window or the wall and shuts the Core down, as closing the window does.

    The loop's own signal handling where it has it (Unix: the signal's wakeup fd wakes Qt's
    loop through a socket notifier, and the handler runs as a loop callback); else Python's
    handler, with a short timer so that Python gets to run it while Qt waits in C++."""

    def __init__(self, loop: asyncio.AbstractEventLoop, task: asyncio.Future[int]) -> None:
        self.received: signal.Signals | None = None
        self._loop, self._task = loop, task
        self._by_loop: list[signal.Signals] = []
        self._previous: dict[signal.Signals, Any] = {}
        self._timer: Any = None
        for sig in STOP_SIGNALS:
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
                self._by_loop.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                with contextlib.suppress(ValueError, OSError):  # not the main thread
                    self._previous[sig] = signal.signal(sig, self._python_handler)
        if self._previous:
            from PySide6.QtCore import QTimer

            self._timer = QTimer()
            self._timer.timeout.connect(lambda: None)  # Python runs between Qt's events
            self._timer.start(WAKE_MS)

    def _python_handler(self, signum: int, _frame: object) -> None:
        self._loop.call_soon_threadsafe(self._on_signal, signal.Signals(signum))

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.received is not None:
            log.warning("%s while closing: the app is already closing", sig.name)
            return
        self.received = sig
        log.info("%s: closing in order", sig.name)
        self._task.cancel()

    def remove(self) -> None:
        for sig in self._by_loop:
            self._loop.remove_signal_handler(sig)
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        if self._timer is not None:
            self._timer.stop()


def run_qt(
    args: argparse.Namespace, paths: AppPaths, program: Program, *, explain: bool = True
) -> int:
    """``explain``: show a message box when the cache cannot be opened (not on the wall: an
    unattended screen has nobody to close it). A data folder that cannot be made, or a
    ``--screenshot`` that may not be written, is said in a line (exit 2); SIGTERM and SIGINT
    close the program in order (exit 0 and 130)."""
    try:
        configure_logging(paths.ensure().log_file, stderr=args.verbose)
    except AppError as exc:
        sys.stderr.write(f"aiops-desktop: error: {exc}\n")
        return exc.exit_code
    try:
        if args.screenshot:  # checked before the window opens, as any file asked for is
            try:
                # the window's own (a command's ``force`` is never the screenshot's); absent
                # where a namespace is not the parser's
                force = getattr(args, "screenshot_force", False)
                capture = Path(args.capture) if args.capture else None
                args.screenshot = checked_screenshot(
                    args.screenshot, paths, force=force, capture=capture
                )
            except AppError as exc:
                sys.stderr.write(f"aiops-desktop: error: {exc}\n")
                return exc.exit_code
        return _run_qt(args, paths, program, explain=explain)
    finally:
        shutdown_logging()


def _run_qt(args: argparse.Namespace, paths: AppPaths, program: Program, *, explain: bool) -> int:
    prepare_qt_environment(offscreen=args.offscreen)
    try:  # said in a line before Qt starts: Qt aborts without a display, or fails at the theme
        resources_dir()
        require_display(os.environ)
    except AppError as exc:
        sys.stderr.write(f"aiops-desktop: error: {exc}\n")
        return exc.exit_code
    import qasync
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from aiops_desktop.settings import Settings
    from ui.theme import apply_theme, chosen_theme, load_theme

    app = QApplication.instance() or QApplication(["aiops-desktop"])
    assert isinstance(app, QApplication)
    app.setApplicationName("aiops-desktop")
    app.setApplicationDisplayName("AIOps Desktop")
    app.setDesktopFileName(DESKTOP_FILE_ID)
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "aiops-desktop.png")))
    look = Settings.load(paths.settings_file)[0].ui  # the person's, also in a capture's window
    theme = apply_theme(app, load_theme(chosen_theme(look.theme), look.font_scale))
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    task = loop.create_task(run_program(args, paths, theme, program, explain=explain))
    stops = StopOnSignals(loop, task)
    try:
        try:
            code = loop.run_until_complete(task)
        except asyncio.CancelledError:
            if stops.received is None:
                raise
        if stops.received is None:
            return code
        log.info("closed in order after %s", stops.received.name)
        return STOP_SIGNALS[stops.received]
    finally:
        stops.remove()
        loop.close()
        asyncio.set_event_loop(None)
