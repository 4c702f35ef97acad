"""Qt fixtures: the app on a qasync loop over the real store and the real keyring.

The loop is created ``already_running``: as in the app, Qt's event processing drives asyncio,
so background tasks (the poller) advance whenever Qt does. Tests wait with ``qtbot.waitUntil``
from plain (sync) test code, never inside a coroutine (that breaks qasync:
docs/architecture.md#platform-notes).
A test that leaves an asyncio task behind fails.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import pytest
import qasync
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from aiops_desktop.app import DesktopApp
from aiops_desktop.logs import configure_logging, shutdown_logging
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.core import Core
from aiops_desktop.settings import resolve_paths, resources_dir
from ui.theme import Theme, apply_theme

T = TypeVar("T")


@pytest.fixture(scope="session")
def theme(qapp: QApplication) -> Theme:
    return apply_theme(qapp)


@pytest.fixture(scope="session")
def _session_loop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """One loop for the whole session: stopping it calls QApplication.exit(), which makes
    every later nested Qt event loop (qtbot's waits) return at once, so it stops only here."""
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.events._set_running_loop(None)  # set per test by `qloop`
    try:
        yield loop
    finally:
        qapp.aboutToQuit.disconnect(loop._after_run_forever)
        asyncio.events._set_running_loop(loop)
        loop._after_run_forever()
        asyncio.events._set_running_loop(None)
        loop.stop()
        loop.close()
        asyncio.set_event_loop(None)


@pytest.fixture
def qloop(_session_loop: qasync.QEventLoop) -> Iterator[qasync.QEventLoop]:
    """The session loop, marked as asyncio's running loop only while a UI test runs, so
    pytest-asyncio's own loops in other tests are not disturbed."""
    asyncio.events._set_running_loop(_session_loop)
    asyncio.set_event_loop(_session_loop)
    try:
        yield _session_loop
        pending = [t for t in asyncio.all_tasks(_session_loop) if not t.done()]
        assert not pending, f"asyncio tasks left running: {[t.get_name() for t in pending]}"
    finally:
        asyncio.events._set_running_loop(None)
        asyncio.set_event_loop(None)


def run_until(qtbot: QtBot, predicate: Callable[[], bool], timeout: float = 10) -> None:
    qtbot.waitUntil(predicate, timeout=int(timeout * 1000))


def run_coro(qtbot: QtBot, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
    """Run a coroutine on the (always running) loop and wait for it from sync test code."""
    task = asyncio.get_event_loop().create_task(coro)
    qtbot.waitUntil(task.done, timeout=int(timeout * 1000))
    return task.result()


def act(action: Callable[[], object]) -> None:
    """A user action: the loop runs all the time, as in the app."""
    action()


@pytest.fixture
def desktop(
    tmp_path: Path,
    qloop: qasync.QEventLoop,
    qtbot: QtBot,
    theme: Theme,
    secret_service,  # type: ignore[no-untyped-def]
) -> Iterator[DesktopApp]:
    paths = resolve_paths(tmp_path / "home")
    configure_logging(paths.ensure().log_file)  # as the app does: the leak test reads the logs
    core = Core.open(paths, secrets=SecretStore(secret_service.backend()))
    try:
        yield from _shown(qtbot, DesktopApp(core, theme), 1280, 800)
    finally:
        shutdown_logging()


def _shown(qtbot: QtBot, app: DesktopApp, width: int, height: int) -> Iterator[DesktopApp]:
    """The window shown at this size and loaded; closed when the test is done."""
    app.window.resize(width, height)
    app.window.show()
    run_coro(qtbot, app.load())
    try:
        yield app
    finally:
        run_coro(qtbot, app.close())


SAMPLE = resources_dir() / "samples" / "sample.aiops"


@pytest.fixture
def sample_desktop(qtbot: QtBot, qloop: qasync.QEventLoop, theme: Theme) -> Iterator[DesktopApp]:
    """The window over the bundled sample capture (offline, read-only), as a newcomer opens
    it."""
    from aiops_desktop.services.outputs.capture import open_capture

    core = open_capture(SAMPLE).assemble()
    yield from _shown(qtbot, DesktopApp(core, theme), 1400, 900)


def add_hub_and_site(
    qtbot: QtBot, core: Any, hub_url: str, kube_api: Any, *, hub: str, site: str
) -> None:
    """A fleet hub Prometheus, and a site cluster on the test Kubernetes API whose own metrics
    endpoints are typed in (dead), so discovery keeps them and nothing resolves a name."""
    from aiops_desktop.models import ClusterKind, EndpointKind
    from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
    from tests.servers.processes import free_port

    prom = EndpointKind.PROMETHEUS
    run_coro(qtbot, core.registry.add(
        ClusterSpec(name=hub, kind=ClusterKind.FLEET, endpoint_urls={prom: hub_url})
    ))  # fmt: skip
    dead = f"http://127.0.0.1:{free_port()}"
    spec = ClusterSpec(
        name=site, api_server_url=kube_api.url, ca_bundle_pem=kube_api.ca_pem,
        endpoint_urls={prom: dead, EndpointKind.ALERTMANAGER: dead},
    )  # fmt: skip
    run_coro(qtbot, core.registry.add(spec, ClusterSecrets(token="admin-token")))
