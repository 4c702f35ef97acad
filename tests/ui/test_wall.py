"""The NOC wall over the bundled sample capture (what a newcomer sees first): pages worst
first, tiles with their states and figures, the SAMPLE DATA badge, a 1920x1080 reference
screenshot; locked (keys and the window manager's close do nothing, Ctrl+Shift+Q twice
leaves); pages rotate."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from aiops_desktop.models.wall import TILE_LINES
from aiops_desktop.models.wall import WALL_PAGES as PAGES
from aiops_desktop.qt_boot import save_screenshot
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.settings import resources_dir
from aiops_desktop.wall_app import WallApp
from tests.ui.conftest import run_coro
from tests.ui.references import check_against_reference

SAMPLE = resources_dir() / "samples" / "sample.aiops"


@pytest.fixture
def wall(qtbot, qloop, theme, secret_service):  # type: ignore[no-untyped-def]
    from aiops_desktop.secrets import SecretStore

    core = open_capture(SAMPLE, SecretStore(secret_service.backend()))
    app = WallApp(core, theme, pages=list(PAGES), rotate_s=3600, refresh_ms=300)
    app.place(0, (1920, 1080))
    run_coro(qtbot, app.load())
    try:
        yield app
    finally:
        run_coro(qtbot, app.close())


def test_the_wall_over_the_sample_capture(wall, qtbot, tmp_path: Path, theme) -> None:  # type: ignore[no-untyped-def]
    models = []
    wall.presenter.sig_model.connect(models.append)
    qtbot.waitUntil(lambda: bool(models), timeout=5000)
    # the fleet's findings are read from the capture's recorded answers once the wall is up
    qtbot.waitUntil(lambda: models[-1].pages[0].name == "fleet" and any(
        t.state == "CRITICAL" for t in models[-1].pages[0].tiles), timeout=15000)  # fmt: skip
    model = models[-1]
    assert model.badge == "SAMPLE DATA" and model.health == "capture: not polling"
    assert [p.worst for p in model.pages][:3] == ["CRITICAL"] * 3  # fleet, GPU, PTP
    pages = {p.name: p for p in model.pages}
    gpu = {t.title: t for t in pages["gpu"].tiles}
    # the state in a word and why first (a tile shows TILE_LINES: the reason is never cut),
    # then the figures; a capture's data is as recorded, not "0 s ago"
    east = gpu["ran-east"]
    assert east.state == "CRITICAL" and east.age_s is None and len(east.lines) <= TILE_LINES
    assert east.lines == ["CRITICAL · gpu-0/gpu5: temperature 84 C (critical >= 80 C)",
                          "24 GPUs · 17% busy", "hottest 84 C · 1 >= 80 C, 0 >= 70 C"]  # fmt: skip
    # a GPU tile's state is the truth's GPU findings' (remaps, XID...), not only its charts'
    assert gpu["ai-lab"].state == "WARNING"
    assert gpu["ai-lab"].lines[0] == "WARNING · dgx-0/gpu7: 2 rows remapped (uncorrectable errors)"
    ptp = {t.title: t for t in pages["ptp"].tiles}
    assert ptp["ran-east"].state == "CRITICAL" and len(ptp["ran-east"].lines) <= TILE_LINES
    assert ptp["ran-east"].lines[0].startswith("CRITICAL · du-2/ens1f0 (ptp4l): clock in FREERUN")
    assert ptp["ran-east"].lines[2] == "FREERUN du-2/ens1f0 · offset 350 ns at du-2/ens1f0"
    assert ptp["ran-west"].state == "WARNING"
    assert any(
        line.startswith("offset") and "du-4/ens1f0" in line for line in ptp["ran-west"].lines
    )
    fleet = {t.title: t for t in pages["fleet"].tiles}
    assert set(fleet) == {"ran-hub", "ran-east", "ran-west", "ai-lab"}  # members are clusters
    east = fleet["ran-east"]
    assert east.state == "CRITICAL" and "GPU 2 ✖" in east.lines[1] and "PTP 1 ✖" in east.lines[1]
    assert pages["fleet"].tiles[0].title == "ran-east"  # worst first
    assert "fleet hub of 3 member clusters" in fleet["ran-hub"].lines
    window = wall.window
    assert window.badge.isVisible() and window.badge.text() == "SAMPLE DATA"
    assert window.title.text() == "Fleet · CRITICAL"
    assert window.isVisible() and window.windowFlags() & Qt.WindowType.FramelessWindowHint
    # the findings read after the first model turn tiles CRITICAL: the frame flashes red
    # meanwhile (a frame now drawn), and the reference is the calm wall
    qtbot.waitUntil(lambda: not window._flash_timer.isActive(), timeout=10000)
    shot = save_screenshot(window, tmp_path / "wall.png")
    check_against_reference(shot, "wall_sample.png", tolerance=14.0)
    # the tiles fill the screen (a 2x2 grid for the four clusters, down to the footer), and
    # at 4K the type is twice the size: readable from across the room at both
    fleet_page = window.stack.currentWidget()
    tiles = [t for t in fleet_page.tiles if t.isVisible()]
    assert len(tiles) == 4 and tiles[2].geometry().bottom() > 0.8 * fleet_page.height()
    base = tiles[0].title.font().pointSize()
    assert base == round(theme.font_pt("wall_pt") * 1.5)  # four tiles: type half again
    window.resize(3840, 2160)
    qtbot.waitUntil(lambda: window.scale == 2.0)
    qtbot.wait(300)  # the layouts take the new type
    assert tiles[0].title.font().pointSize() == 2 * base
    shot = save_screenshot(window, tmp_path / "wall_4k.png")
    check_against_reference(shot, "wall_sample_4k.png", tolerance=14.0)


def test_the_wall_is_locked_and_rotates(wall, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = wall.window
    qtbot.waitUntil(lambda: bool(window.current_page()), timeout=5000)
    first = window.current_page()
    for key in (Qt.Key.Key_Escape, Qt.Key.Key_F4, Qt.Key.Key_Q):
        qtbot.keyClick(window, key, Qt.KeyboardModifier.AltModifier)
    window.close()  # what the window manager's close does
    assert window.isVisible()
    window.next_page()
    assert window.current_page() != first
    for _ in range(len(PAGES) - 1):
        window.next_page()
    assert window.current_page() == first  # round and back
    wanted = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    with qtbot.assertNotEmitted(window.sig_exit_requested):
        qtbot.keyClick(window, Qt.Key.Key_Q, wanted)
    assert "again within 3 s" in window.health.text()
    with qtbot.waitSignal(window.sig_exit_requested, timeout=1000):
        qtbot.keyClick(window, Qt.Key.Key_Q, wanted)
    window.rotation.setInterval(50)
    seen = set()
    qtbot.waitUntil(
        lambda: seen.add(window.current_page()) or len(seen) == len(PAGES), timeout=3000
    )
