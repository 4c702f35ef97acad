"""Qt fixtures: the app on a qasync loop over the real store and the real keyring.

Async work runs only through ``loop.run_until_complete`` (MACHINE-NOTES: a blocking qtbot wait
inside a coroutine breaks qasync). A test that leaves an asyncio task behind fails.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from aiops_desktop.app import DesktopApp
from aiops_desktop.logs import configure_logging, shutdown_logging
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.core import Core
from aiops_desktop.settings import resolve_paths
from ui.theme import Theme, apply_theme


@pytest.fixture(scope="session")
def theme(qapp: QApplication) -> Theme:
    return apply_theme(qapp)


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield loop
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        assert not pending, f"asyncio tasks left running: {[t.get_name() for t in pending]}"
    finally:
        loop.close()
        asyncio.set_event_loop(None)


def run_until(
    loop: asyncio.AbstractEventLoop, predicate: Callable[[], bool], timeout: float = 10
) -> None:
    async def wait() -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(0.01)

    loop.run_until_complete(wait())


def act(loop: asyncio.AbstractEventLoop, action: Callable[[], object]) -> None:
    """Do a user action while the loop runs, as it always does in the app."""

    async def run() -> None:
        action()

    loop.run_until_complete(run())


@pytest.fixture
def desktop(
    tmp_path: Path,
    qloop: qasync.QEventLoop,
    theme: Theme,
    secret_service,  # type: ignore[no-untyped-def]
) -> Iterator[DesktopApp]:
    paths = resolve_paths(tmp_path / "home")
    configure_logging(paths.ensure().log_file)  # as the app does: the leak test reads the logs
    core = Core.open(paths, secrets=SecretStore(secret_service.backend()))
    app = DesktopApp(core, theme)
    app.window.resize(1280, 800)
    app.window.show()
    qloop.run_until_complete(app.load())
    try:
        yield app
    finally:
        qloop.run_until_complete(app.close())
        shutdown_logging()
