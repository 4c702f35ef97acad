"""A wall whose model cannot be built (a bug, or data no builder expected) does not freeze
showing its last data as fresh: what is shown is badged "display not updated since HH:MM",
the clock goes on, the failure is in the app log once per distinct error (however many
refreshes fail, however many different errors), and the wall recovers by itself."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from aiops_desktop.models.wall import WALL_PAGES as PAGES
from aiops_desktop.services.outputs import wall as wallmod
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.settings import resources_dir
from aiops_desktop.wall_app import WallApp
from tests.ui.conftest import run_coro, run_until
from ui.presenters.wall import MAX_LOGGED_ERRORS

SAMPLE = resources_dir() / "samples" / "sample.aiops"
T0 = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)


@pytest.fixture
def wall(qtbot, qloop, theme, secret_service):  # type: ignore[no-untyped-def]
    from aiops_desktop.secrets import SecretStore

    core = open_capture(SAMPLE, SecretStore(secret_service.backend()))
    app = WallApp(core, theme, pages=list(PAGES), rotate_s=3600, refresh_ms=50)
    app.place(0, (1280, 720))
    run_coro(qtbot, app.load())
    try:
        yield app
    finally:
        run_coro(qtbot, app.close())


def failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "aiops.ui.wall" and r.levelno >= logging.ERROR]


def test_a_wall_that_cannot_be_built_says_so_and_its_clock_goes_on(
    wall: WallApp, qtbot, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="aiops")
    window, now = wall.window, [T0]
    wall.core.wall.clock = lambda: now[0]
    run_until(qtbot, lambda: window.clock.text() == "21:00:00 UTC")
    assert not window.stale.isVisible()
    real = wallmod.BUILDERS["gpu"]
    calls = []

    def broken(src, at):  # type: ignore[no-untyped-def]
        calls.append(at)
        raise ValueError("some unexpected data")

    monkeypatch.setitem(wallmod.BUILDERS, "gpu", broken)
    now[0] = T0 + timedelta(minutes=7, seconds=5)
    run_until(qtbot, lambda: len(calls) >= 10)  # many refreshes failed
    assert window.clock.text() == "21:07:05 UTC"  # the clock goes on
    assert window.stale.isVisible()
    assert window.stale.text() == "stale since 21:00 UTC"  # short: the page's state first
    assert "display not updated: ValueError" in window.health.full_text()
    logged = failures(caplog)
    assert len(logged) == 1 and logged[0].exc_info is not None  # once, with its traceback
    assert "some unexpected data" in str(logged[0].exc_info[1])

    # many different errors (a count in the message): each logged once, at most so many
    def varied(src, at):  # type: ignore[no-untyped-def]
        calls.append(at)
        raise KeyError(f"node-{len(calls)}")

    monkeypatch.setitem(wallmod.BUILDERS, "gpu", varied)
    start = len(calls)
    run_until(qtbot, lambda: len(calls) >= start + 3 * MAX_LOGGED_ERRORS)
    assert len(failures(caplog)) == MAX_LOGGED_ERRORS + 1  # and one saying the rest are not

    monkeypatch.setitem(wallmod.BUILDERS, "gpu", real)  # built again: the badge goes
    now[0] = T0 + timedelta(minutes=8)
    run_until(qtbot, lambda: not window.stale.isVisible())
    assert window.clock.text() == "21:08:00 UTC"
    assert "display not updated" not in window.health.full_text()
    assert any("updated again" in r.getMessage() for r in caplog.records)


def test_a_stale_walls_tiles_age_with_its_clock(qtbot, theme) -> None:  # type: ignore[no-untyped-def]
    from aiops_desktop.models.wall import Tile, WallModel, WallPage
    from ui.wall.window import WallWindow

    window = WallWindow(theme, rotate_s=3600)
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    tiles = [Tile("ran-east", "OK", ["fine"], 20.0), Tile("PtpClock", "OK", ["recorded"])]
    window.show_model(WallModel([WallPage("fleet", "Fleet", tiles)], "polling OK", T0))
    page = window.stack.currentWidget()
    assert page.tiles[0].age.full_text() == "data 20 s ago"
    window.show_stale(T0 + timedelta(seconds=50), "ValueError")
    assert page.tiles[0].age.full_text() == "data 70 s ago"  # not frozen at 20 s
    assert page.tiles[1].age.full_text() == ""  # no age stays none
    assert window.stale.text() == "display not updated since 21:00 UTC"
    window.allow_close()
