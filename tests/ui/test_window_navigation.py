"""Moving around the main window: a table filter belongs to the page it was typed on, whatever
opens the next page; a removed cluster leaves the screen, the palette and the status bar; a
cluster's readers (its Kubernetes watch, its dashboard's redraws) stop with its page; the
sidebar's lists answer Enter and the page list follows the page shown; the palette and the
shortcut sheet offer only what does something in this window."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from aiops_desktop.app import DesktopApp
from aiops_desktop.models import EndpointKind
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.services.core import Core
from tests.servers.processes import free_port
from tests.ui.conftest import run_coro, run_until
from ui.main_window import MainWindow
from ui.views.rows_table import RowsTable

pytestmark = pytest.mark.qt


def _gpu_findings(window: MainWindow) -> RowsTable | None:
    return next((t for t in window.gpu.findChildren(RowsTable) if "Reasons" in t.headers()), None)


def test_a_filter_stays_with_its_page_whatever_opens_a_cluster(
    sample_desktop: DesktopApp, qtbot: QtBot
) -> None:
    window = sample_desktop.window
    window.show_view("gpu")
    run_until(qtbot, lambda: (t := _gpu_findings(window)) is not None
              and t.rows_model.total_rows() >= 3)  # fmt: skip
    table = _gpu_findings(window)
    assert table is not None
    every = table.rowCount()
    run_until(qtbot, lambda: window.truth is not None)
    palette_west = next(c for c in window.commands.commands()
                        if c.kind == "Cluster" and c.title == "ran-west")  # fmt: skip
    opened_by = {
        "the sidebar": lambda: window.cluster_list.sig_selected.emit("ran-west"),
        "the palette": palette_west.run,
        "a Fleet tile": lambda: window.fleet.sig_open_cluster.emit("ran-west"),
    }
    for how, open_cluster in opened_by.items():
        window.show_view("gpu")
        window.commands.start_filter("ran-east")  # "/" and a few letters
        assert 0 < table.rowCount() < every
        open_cluster()
        assert window.stack.currentWidget() is window.cluster_page
        assert not window.filter_bar.isVisible() and not window.filter_bar.text()
        window.show_view("gpu")
        assert table.rowCount() == every, f"rows still hidden after a cluster opened by {how}"
        assert not table.rows_model.needle


def _register(qtbot: QtBot, core: Core, *names: str, api: bool = False) -> None:
    dead = f"https://127.0.0.1:{free_port()}"
    for name in names:
        spec = ClusterSpec(name=name, endpoint_urls={EndpointKind.PROMETHEUS: dead},
                           api_server_url=dead if api else None)  # fmt: skip
        run_coro(qtbot, core.registry.add(spec))


def test_removing_the_cluster_shown_goes_to_fleet_and_stops_its_readers(
    desktop: DesktopApp, qtbot: QtBot
) -> None:
    core, window, p = desktop.core, desktop.window, desktop.presenters
    _register(qtbot, core, "alpha", "beta")
    run_until(qtbot, lambda: len(window.clusters) == 2)
    window.show_cluster("alpha")
    assert window.overview.title.text() == "alpha" and p.dashboard._timer.isActive()
    p.registry.remove_cluster("alpha")
    run_until(qtbot, lambda: [c.name for c in window.clusters] == ["beta"])
    assert window.stack.currentWidget() is window.fleet
    assert not p.dashboard._timer.isActive() and not p.kube._timer.isActive()
    # nothing of it is left to act on: Details no longer offers to remove it (or another)
    assert window.overview.title.text() == "alpha: not registered"
    assert not window.overview.remove_button.isVisibleTo(window.overview)
    # another cluster's removal leaves the one shown where it is
    window.show_cluster("beta")
    _register(qtbot, core, "gamma")
    run_until(qtbot, lambda: len(window.clusters) == 2)
    p.registry.remove_cluster("gamma")
    run_until(qtbot, lambda: [c.name for c in window.clusters] == ["beta"])
    assert window.stack.currentWidget() is window.cluster_page
    assert window.overview.title.text() == "beta" and p.dashboard.cluster == "beta"


def test_the_palette_and_status_bar_know_only_registered_clusters(
    desktop: DesktopApp, qtbot: QtBot
) -> None:
    core, window, p = desktop.core, desktop.window, desktop.presenters
    _register(qtbot, core, "alpha", "beta")
    run_coro(qtbot, core.fleet.refresh())  # the minute's refresh of the fleet's truth
    run_until(qtbot, lambda: window.truth is not None
              and {t.name for t in window.truth.clusters} == {"alpha", "beta"}, 20)  # fmt: skip
    window.show_cluster("alpha")
    assert window.status_clusters.text().startswith("2 clusters")
    p.registry.remove_cluster("beta")
    run_until(qtbot, lambda: [c.name for c in window.clusters] == ["alpha"])
    assert window.truth is not None and "beta" in {t.name for t in window.truth.clusters}
    offered = [c.title for c in window.commands.commands() if c.kind == "Cluster"]
    assert offered == ["alpha"]
    assert window.status_clusters.text().startswith("1 cluster ")
    # a name no longer registered (--view cluster:beta, a Fleet tile not yet refreshed): its
    # Details say so, not the last cluster's name and Remove button
    window.show_view("cluster:beta")
    assert window.overview.title.text() == "beta: not registered"
    assert window.overview.fields["Name"].text() == "beta"
    assert "not registered" in window.overview.fields["Type"].text()
    assert not window.overview.remove_button.isVisibleTo(window.overview)
    assert window.overview.endpoints.rowCount() == 0


def test_the_palette_offers_a_hubs_members(sample_desktop: DesktopApp, qtbot: QtBot) -> None:
    window = sample_desktop.window
    run_until(qtbot, lambda: window.truth is not None)
    offered = {c.title for c in window.commands.commands() if c.kind == "Cluster"}
    assert offered == {"ran-hub", "ran-east", "ran-west", "ai-lab"}


def test_a_clusters_readers_stop_when_another_page_is_shown(
    desktop: DesktopApp, qtbot: QtBot
) -> None:
    core, window, p = desktop.core, desktop.window, desktop.presenters
    _register(qtbot, core, "alpha", api=True)
    run_until(qtbot, lambda: len(window.clusters) == 1)
    try:
        window.show_cluster("alpha")
        window.cluster_page.setCurrentWidget(window.kube)  # the Kubernetes tab
        assert p.kube._timer.isActive() and "alpha" in core.kube._followed
        assert p.dashboard._timer.isActive()
        window.show_view("fleet")  # Ctrl+1
        assert not p.kube._timer.isActive() and not core.kube._followed
        assert not p.dashboard._timer.isActive()
        window.show_view("details:alpha")  # back, on its Kubernetes tab
        assert p.kube._timer.isActive() and "alpha" in core.kube._followed
        assert p.dashboard._timer.isActive()
        window.show_view("alerts")
        window.show_cluster("alpha")  # back, on its dashboard: the watch stays closed
        assert p.dashboard._timer.isActive() and not core.kube._followed
    finally:
        p.kube.stop()
        p.dashboard.stop()
        qtbot.wait(300)


def test_the_sidebar_lists_answer_enter_and_follow_the_page(
    sample_desktop: DesktopApp, qtbot: QtBot
) -> None:
    window = sample_desktop.window
    window.show_view("fleet")
    run_until(qtbot, lambda: window.cluster_list.list.count() == 4)
    assert window.nav.currentItem().text() == "Fleet"
    window.activateWindow()
    window.nav.setFocus()
    window.nav.setCurrentRow(0)
    qtbot.keyClick(window.nav, Qt.Key.Key_Down)
    qtbot.keyClick(window.nav, Qt.Key.Key_Return)
    assert window.stack.currentWidget() is window.alerts
    listed = window.cluster_list.list
    listed.setFocus()
    listed.setCurrentRow(0)
    qtbot.keyClick(listed, Qt.Key.Key_Down)
    qtbot.keyClick(listed, Qt.Key.Key_Return)
    name = listed.currentItem().data(Qt.ItemDataRole.UserRole)
    assert window.stack.currentWidget() is window.cluster_page
    assert window.presenters.dashboard.cluster == name
    assert window.nav.currentItem() is None  # no page of the list is shown
    # the page list's highlight follows Ctrl+N and the palette, without navigating again
    window.show_view("console")
    assert window.nav.currentItem().text() == "Console"
    next(c for c in window.commands.commands() if c.title == "PTP").run()
    assert window.nav.currentItem().text() == "PTP" and window.stack.currentWidget() is window.ptp
    # a click still opens a page
    rect = window.nav.visualItemRect(window.nav.item(0))
    qtbot.mouseClick(window.nav.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.stack.currentWidget() is window.fleet


def test_the_palette_lists_only_actions_that_do_something(
    sample_desktop: DesktopApp, qtbot: QtBot
) -> None:
    window = sample_desktop.window
    actions = [c.title for c in window.commands.commands() if c.kind == "Action"]
    # the menus themselves (and the menu bar's overflow menu) are no actions: one Settings
    # (the dialog's), no File, View or Help
    assert actions.count("Settings") == 1 and not {"File", "View", "Help"} & set(actions)
    assert {"Open capture", "Command palette", "Keyboard shortcuts", "About AIOps Desktop"} <= set(
        actions
    )
    before = set(window.findChildren(QMessageBox))
    next(c for c in window.commands.commands() if c.title == "Keyboard shortcuts").run()
    opened = [b for b in window.findChildren(QMessageBox) if b not in before and b.isVisible()]
    assert len(opened) == 1 and "Ctrl+K" in opened[0].text()
    opened[0].close()


def test_a_captures_shortcut_sheet_lists_only_keys_it_answers(sample_desktop: DesktopApp) -> None:
    sheet = sample_desktop.window.commands.shortcut_sheet().splitlines()
    # its registry never changes: Ctrl+I (Import kubeconfig) and Ctrl+N (Add cluster) are off
    assert not [line for line in sheet if line.startswith(("Ctrl+I ", "Ctrl+N "))]
    assert any(line.startswith("Ctrl+K ") for line in sheet)
    assert any(line.startswith("Ctrl+O ") for line in sheet)


def test_an_admins_shortcut_sheet_lists_adding_clusters(desktop: DesktopApp) -> None:
    sheet = desktop.window.commands.shortcut_sheet().splitlines()
    assert any(line.startswith("Ctrl+N ") and "Add cluster" in line for line in sheet)
    assert any(line.startswith("Ctrl+I ") and "Import kubeconfig" in line for line in sheet)
