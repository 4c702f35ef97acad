"""The anomaly sensitivity set in one process's Settings is used by the process that runs the
cache's live detection (one_per_cache: the wall, or another window) from its next round, as
Settings says: that one kept the sensitivity it read at its start. The wall shows no Settings
(it never asks its Core for ``preferences``): its anomaly service follows the file all the
same. Only a file read without a problem is followed: one this version refuses (a newer
version's llm field) or a read that failed leaves the sensitivity in use as it was."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

import aiops_desktop.settings as settings_module
from aiops_desktop.models.enums import Sensitivity
from aiops_desktop.secrets import NoSecrets
from aiops_desktop.services.core import Core
from aiops_desktop.settings import AppPaths, Settings
from aiops_desktop.store.capture import CaptureManifest
from aiops_desktop.store.database import Database

#: what the wall program asks its Core for (wall_app.py's WallApp): never ``preferences``
WALLS_SERVICES = ("registry", "poller", "anomalies", "incidents", "fleet", "wall", "supervisor")


@pytest_asyncio.fixture
async def two(tmp_path: Path) -> AsyncIterator[tuple[Core, Core]]:
    """The wall (it runs the live detection, with the services its program asks for) and a
    window on the same cache."""
    paths = AppPaths(tmp_path / "data", tmp_path / "logs")
    wall, window = Core.open(paths, secrets=NoSecrets()), Core.open(paths, secrets=NoSecrets())
    for name in WALLS_SERVICES:
        getattr(wall, name)
    assert window.preferences.current.detection.sensitivity is Sensitivity.MEDIUM
    assert wall.anomalies.sensitivity is Sensitivity.MEDIUM
    yield wall, window
    for core in (wall, window):
        await core.shutdown()


@pytest.mark.asyncio
async def test_the_detecting_process_uses_a_sensitivity_set_in_another(
    two: tuple[Core, Core],
) -> None:
    wall, window = two
    await window.preferences.set_sensitivity(Sensitivity.HIGH)
    assert wall.anomalies.sensitivity is Sensitivity.MEDIUM  # no round of its own since
    await wall.anomalies.analyse_live()
    assert wall.anomalies.sensitivity is Sensitivity.HIGH
    assert wall.preferences.current.detection.sensitivity is Sensitivity.HIGH


@pytest.mark.asyncio
async def test_the_settings_file_is_read_again_only_when_it_changed(
    two: tuple[Core, Core], monkeypatch: pytest.MonkeyPatch
) -> None:
    wall, window = two
    reads = []
    read = settings_module._regular_file_head

    def counted(path: Path, most: int) -> bytes | None:
        reads.append(path)
        return read(path, most)

    await window.preferences.set_sensitivity(Sensitivity.LOW)
    monkeypatch.setattr(settings_module, "_regular_file_head", counted)
    for _ in range(3):
        await wall.anomalies.analyse_live()
    assert len(reads) == 1 and wall.anomalies.sensitivity is Sensitivity.LOW
    monkeypatch.setattr(settings_module, "_regular_file_head", read)
    await window.preferences.set_sensitivity(Sensitivity.EXTREME)
    monkeypatch.setattr(settings_module, "_regular_file_head", counted)
    await wall.anomalies.analyse_live()
    assert len(reads) == 2 and wall.anomalies.sensitivity is Sensitivity.EXTREME


@pytest.mark.asyncio
async def test_a_file_this_version_refuses_leaves_the_sensitivity_in_use(
    two: tuple[Core, Core],
) -> None:
    """A newer version's llm field refuses the file (defaults, the notice said at a start):
    the LOW followed before stays, not the default MEDIUM; the file mended is followed."""
    wall, window = two
    await window.preferences.set_sensitivity(Sensitivity.LOW)
    await wall.anomalies.analyse_live()
    assert wall.anomalies.sensitivity is Sensitivity.LOW
    path = window.paths.settings_file
    newer = {"detection": {"sensitivity": "HIGH"}, "llm": {"redact_names": True}}
    path.write_text(json.dumps(newer))
    assert Settings.load(path)[1] is not None  # refused: defaults, with a notice
    await wall.anomalies.analyse_live()
    assert wall.anomalies.sensitivity is Sensitivity.LOW
    assert wall.preferences.current.detection.sensitivity is Sensitivity.LOW
    path.write_text(json.dumps({"detection": {"sensitivity": "HIGH"}}))
    await wall.anomalies.analyse_live()
    assert wall.anomalies.sensitivity is Sensitivity.HIGH


@pytest.mark.asyncio
async def test_a_read_that_failed_is_tried_again_next_round(
    two: tuple[Core, Core], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One read refused (EACCES, a Windows sharing violation): the sensitivity in use stays
    for that round, and the next round reads the unchanged file again."""
    wall, window = two
    await window.preferences.set_sensitivity(Sensitivity.HIGH)
    read = settings_module._regular_file_head

    def refused_once(path: Path, most: int) -> bytes | None:
        monkeypatch.setattr(settings_module, "_regular_file_head", read)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(settings_module, "_regular_file_head", refused_once)
    await wall.anomalies.analyse_live()
    assert wall.anomalies.sensitivity is Sensitivity.MEDIUM
    await wall.anomalies.analyse_live()
    assert wall.anomalies.sensitivity is Sensitivity.HIGH


@pytest.mark.asyncio
async def test_a_captures_detection_follows_no_file(tmp_path: Path) -> None:
    """A capture's sensitivity is its own: its live rounds follow no settings.json."""
    paths = AppPaths(tmp_path / "data", tmp_path / "logs")
    paths.ensure()
    until = "2025-01-01T00:00:00+00:00"
    manifest = CaptureManifest("1", 1, ["east"], until, until, until)
    core = Core(paths, Settings(), Database(paths.db_path), NoSecrets(), capture=manifest)
    try:
        assert core.anomalies.before_round is None
    finally:
        await core.shutdown()
