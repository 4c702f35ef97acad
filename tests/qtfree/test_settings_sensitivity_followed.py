"""The anomaly sensitivity set in one process's Settings is used by the process that runs the
cache's live detection (one_per_cache: the wall, or another window) from its next round, as
Settings says: that one kept the sensitivity it read at its start."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from aiops_desktop.models.enums import Sensitivity
from aiops_desktop.secrets import NoSecrets
from aiops_desktop.services.core import Core
from aiops_desktop.settings import AppPaths, Settings


@pytest_asyncio.fixture
async def two(tmp_path: Path) -> AsyncIterator[tuple[Core, Core]]:
    """The wall (it runs the live detection) and a window on the same cache, each with its
    services made as ``Core.assemble`` makes them."""
    paths = AppPaths(tmp_path / "data", tmp_path / "logs")
    opened = (Core.open(paths, secrets=NoSecrets()), Core.open(paths, secrets=NoSecrets()))
    for core in opened:
        assert core.preferences.current.detection.sensitivity is Sensitivity.MEDIUM
    yield opened
    for core in opened:
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
    read = Settings.load

    def counted(path: Path) -> tuple[Settings, str | None]:
        reads.append(path)
        return read(path)

    monkeypatch.setattr(Settings, "load", counted)
    await window.preferences.set_sensitivity(Sensitivity.LOW)
    for _ in range(3):
        await wall.anomalies.analyse_live()
    assert len(reads) == 1 and wall.anomalies.sensitivity is Sensitivity.LOW
    await window.preferences.set_sensitivity(Sensitivity.EXTREME)
    await wall.anomalies.analyse_live()
    assert len(reads) == 2 and wall.anomalies.sensitivity is Sensitivity.EXTREME
