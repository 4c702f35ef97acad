"""The wall on its own (a NOC PC runs only ``aiops-desktop wall``) runs live anomaly detection,
as the window does: the fleet's findings hold the last hour's anomalies there too (review 3).
It stops with the wall; a capture is read as it is, with none."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from aiops_desktop.models.wall import WALL_PAGES
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.settings import resolve_paths, resources_dir
from aiops_desktop.wall_app import WallApp
from tests.conftest import SecretService
from tests.ui.conftest import run_coro
from ui.theme import Theme

SAMPLE = resources_dir() / "samples" / "sample.aiops"
DETECTION = "anomaly-detection"


def loaded(qtbot: QtBot, core: Core, theme: Theme) -> WallApp:
    wall = WallApp(core, theme, pages=list(WALL_PAGES), rotate_s=3600, refresh_ms=300)
    wall.place(0, (1280, 720))
    run_coro(qtbot, wall.load())
    return wall


def test_the_wall_alone_runs_anomaly_detection_and_stops_it(
    tmp_path: Path, qtbot: QtBot, qloop: object, theme: Theme, secret_service: SecretService
) -> None:
    core = Core.open(
        resolve_paths(tmp_path / "home"), secrets=SecretStore(secret_service.backend())
    )
    wall = loaded(qtbot, core, theme)
    try:
        assert DETECTION in core.supervisor.names()
    finally:
        run_coro(qtbot, wall.close())  # the wall's exit: nothing of it left running
    assert core.supervisor.names() == []


def test_a_wall_over_a_capture_detects_nothing_live(
    qtbot: QtBot, qloop: object, theme: Theme, secret_service: SecretService
) -> None:
    core = open_capture(SAMPLE, SecretStore(secret_service.backend()))
    wall = loaded(qtbot, core, theme)
    try:
        assert DETECTION not in core.supervisor.names()
    finally:
        run_coro(qtbot, wall.close())
