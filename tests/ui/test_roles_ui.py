"""The window follows its role: a viewer is offered nothing that changes anything (no import,
add, remove, acknowledge, new report, settings or chat), the status bar says the role, and the
services refuse what a viewer asks all the same. A reference screenshot, looked at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync

from aiops_desktop.app import DesktopApp
from aiops_desktop.models.enums import UserRole
from aiops_desktop.qt_boot import save_screenshot
from aiops_desktop.services.runtime.access import AccessDenied
from tests.ui.conftest import SAMPLE, _shown, run_coro, run_until
from tests.ui.references import check_against_reference
from ui.theme import Theme


@pytest.fixture
def viewer_desktop(qtbot, qloop: qasync.QEventLoop, theme: Theme) -> Iterator[DesktopApp]:  # type: ignore[no-untyped-def]
    from aiops_desktop.services.outputs.capture import open_capture

    core = open_capture(SAMPLE, role=UserRole.VIEWER).assemble()
    yield from _shown(qtbot, DesktopApp(core, theme), 1280, 720)


def test_a_viewer_is_offered_only_reading(
    viewer_desktop: DesktopApp, qtbot, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window = viewer_desktop.window
    assert window.status_role.text() == "Role: viewer"
    commands = window.commands
    assert not commands.import_action.isVisible() and not commands.add_action.isVisible()
    assert not commands.report_action.isVisible()
    assert not commands.settings_action.isEnabled()
    nav = [window.nav.item(i).text() for i in range(window.nav.count())]
    assert "Chat" not in nav and "Incidents" in nav
    assert "Chat" not in {c.title for c in commands.commands()}
    window.show_view("chat")  # asked for anyway: said, not shown
    assert "viewer role has no chat page" in window.statusBar().currentMessage()
    window.show_view("incidents")
    incidents = window.page("incidents")
    run_until(qtbot, lambda: bool(incidents._rows), timeout=20)
    incidents.select(incidents._rows[0].id)
    assert incidents.ack_button.isHidden()
    window.show_view("reports")
    assert window.page("reports").new_button.isHidden()
    # and the service refuses it all the same
    with pytest.raises(AccessDenied):
        run_coro(qtbot, viewer_desktop.core.incidents.acknowledge(incidents._rows[0].id))
    window.show_view("fleet")
    run_until(qtbot, lambda: window.truth is not None, timeout=20)
    shot = save_screenshot(window, tmp_path / "viewer.png")
    check_against_reference(shot, "viewer_main.png", tolerance=12.0)


def test_the_wall_always_runs_as_viewer() -> None:
    import argparse

    from aiops_desktop.qt_boot import requested_role

    wall = argparse.Namespace(command="wall", role=UserRole.ADMIN)
    assert requested_role(wall) is UserRole.VIEWER
    window = argparse.Namespace(command=None, role=UserRole.OPERATOR)
    assert requested_role(window) is UserRole.OPERATOR
    assert requested_role(argparse.Namespace(command=None, role=None)) is None


def test_an_admin_sets_the_accounts_role_for_the_next_start(desktop: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    from aiops_desktop.settings import Settings

    dialog = desktop.window.open_settings_dialog()
    dialog.account_role.setCurrentIndex(dialog.account_role.findData("viewer"))
    apply = dialog.buttons.button(dialog.buttons.StandardButton.Apply)
    qtbot.mouseClick(apply, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: "runs as viewer at most" in dialog.status.text())
    kept, problem = Settings.load(desktop.core.paths.settings_file)
    assert problem is None and kept.access.role is UserRole.VIEWER
    assert desktop.core.access.role is UserRole.ADMIN  # this session keeps its role
    dialog.reject()


def test_an_admin_is_offered_what_a_viewer_is_not(sample_desktop: DesktopApp) -> None:
    window = sample_desktop.window
    assert window.status_role.text() == "Role: admin"
    window.show_view("incidents")
    window.show_view("reports")
    # a capture is read-only: nothing is acknowledged in it, even by an admin
    assert window.page("incidents").ack_button.isHidden()
    assert not window.page("reports").new_button.isHidden()
    assert window.commands.report_action.isVisible() and window.commands.settings_action.isEnabled()
    assert "Chat" in [window.nav.item(i).text() for i in range(window.nav.count())]
