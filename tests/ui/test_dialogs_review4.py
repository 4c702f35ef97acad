"""Dialogs as a person uses them, with a slow keyring (an unlock prompt, a busy bus): an Add
cluster dialog takes only its own add's answer, and Escape stops its add; a fleet hub can be
added; a URL with a blank is refused; the time range bar refuses a span after now or before
the cache; a double click opens the sample once; Enter in Settings applies."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QWidget

import ui.main_window as mw
from aiops_desktop.app import DesktopApp
from aiops_desktop.models import ClusterKind, ClusterType
from aiops_desktop.models.credentials import CredentialRef
from aiops_desktop.models.enums import Sensitivity
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.models.time_range import TimeRange
from aiops_desktop.secrets import SecretStore
from tests.ui.conftest import act, run_until
from ui.dialogs.add_cluster import AddClusterDialog
from ui.views.time_range import ABSOLUTE, TimeRangeBar

OLD = "sha256~OldWrongTokenAAAAAAAAAA"
NEW = "sha256~NewCorrectTokenBBBBBBBBB"


def slow_keyring(monkeypatch: pytest.MonkeyPatch, delays: dict[str, float]) -> list[CredentialRef]:
    """SecretStore.put waits ``delays[secret]`` seconds first; the refs written are listed."""
    real_put = SecretStore.put
    refs: list[CredentialRef] = []

    def slow_put(self: SecretStore, ref: CredentialRef, secret: str) -> None:
        refs.append(ref)
        time.sleep(delays.get(secret, 0))
        real_put(self, ref, secret)

    monkeypatch.setattr(SecretStore, "put", slow_put)
    return refs


def fill(dialog: AddClusterDialog, token: str, name: str = "prod-1") -> None:
    dialog.name.setText(name)
    dialog.api_url.setText(f"https://api.{name}.example:6443")
    dialog.token.setText(token)


def closed(dialog: QDialog) -> list[int]:
    results: list[int] = []
    dialog.finished.connect(results.append)
    return results


# -- 1. a dialog takes only its own add's answer -----------------------------------------------
def test_another_adds_answer_neither_closes_nor_fails_this_dialog(
    desktop: DesktopApp, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_keyring(monkeypatch, {OLD: 2.0})
    dialog = desktop.window.open_add_dialog()
    results = closed(dialog)
    fill(dialog, OLD)
    act(dialog.buttons.accepted.emit)
    presenter = desktop.presenter
    # another add (no token: at once), and another operation's failure, while this one runs
    act(lambda: presenter.add_cluster(ClusterSpec(name="lab-2", api_server_url="https://a:6443"),
                                      ClusterSecrets()))  # fmt: skip
    act(lambda: presenter.remove_cluster("no-such-cluster"))
    run_until(qtbot, lambda: "lab-2" in [c.name for c in presenter.clusters()])
    qtbot.wait(200)
    assert results == [] and dialog.isVisible()
    assert "no-such-cluster" not in dialog.error.text()
    run_until(qtbot, lambda: results == [QDialog.DialogCode.Accepted])  # its own answer
    assert sorted(c.name for c in presenter.clusters()) == ["lab-2", "prod-1"]


def test_an_add_left_with_escape_is_not_the_next_dialogs(
    desktop: DesktopApp, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    refs = slow_keyring(monkeypatch, {OLD: 1.0, NEW: 2.0})
    first = desktop.window.open_add_dialog()
    fill(first, OLD)
    act(first.buttons.accepted.emit)
    qtbot.keyClick(first, Qt.Key.Key_Escape)  # "no, wrong token"
    second = desktop.window.open_add_dialog()
    results = closed(second)
    fill(second, NEW)
    act(second.buttons.accepted.emit)
    run_until(qtbot, lambda: bool(results))
    assert results == [QDialog.DialogCode.Accepted]
    (cluster,) = desktop.presenter.clusters()
    assert cluster.credential is not None
    assert desktop.core.secrets.get(cluster.credential) == NEW
    qtbot.wait(1500)  # past the first put: whatever it wrote is gone again
    assert all(desktop.core.secrets.get(r) is None for r in refs if r != cluster.credential)


# -- 2. Escape stops the add --------------------------------------------------------------------
def test_escape_during_an_add_stops_it_and_keeps_nothing(
    desktop: DesktopApp, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keyring asks to be unlocked (its check takes its time); the person gives up."""
    refs = slow_keyring(monkeypatch, {})
    real_check = SecretStore.check
    checking: list[bool] = []

    def slow_check(self: SecretStore) -> None:
        checking.append(True)
        time.sleep(1.5)
        real_check(self)

    monkeypatch.setattr(SecretStore, "check", slow_check)
    dialog = desktop.window.open_add_dialog()
    fill(dialog, OLD)
    act(dialog.buttons.accepted.emit)
    cancel = dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert cancel.isEnabled() and not ok.isEnabled()
    assert "Adding" in dialog.status.text() and dialog.error.text() == ""
    run_until(qtbot, lambda: bool(checking))  # the unlock prompt is up
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # the person gives up
    assert not dialog.isVisible()
    qtbot.wait(2500)  # past the keyring's answer
    assert desktop.presenter.clusters() == []
    assert refs == []  # nothing was written to the keyring


def test_escape_during_the_keyring_write_leaves_no_token(
    desktop: DesktopApp, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    refs = slow_keyring(monkeypatch, {OLD: 1.5})
    dialog = desktop.window.open_add_dialog()
    fill(dialog, OLD)
    act(dialog.buttons.accepted.emit)
    run_until(qtbot, lambda: bool(refs))  # the token is being written
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.wait(2500)  # past the write
    assert desktop.presenter.clusters() == []
    assert desktop.core.secrets.get(refs[0]) is None


# -- 3. a fleet hub ------------------------------------------------------------------------------
def test_a_fleet_hub_can_be_added_in_the_dialog(desktop: DesktopApp, qtbot) -> None:
    dialog = desktop.window.open_add_dialog()
    dialog.name.setText("acm-hub")
    dialog.prometheus_url.setText("https://thanos.hub.example")
    assert dialog.kind.currentData() == ClusterKind.CLUSTER.value  # one unless chosen
    dialog.kind.setCurrentIndex(dialog.kind.findData(ClusterKind.FLEET.value))
    assert "Fleet hub" in dialog.kind.currentText()
    assert dialog.cluster_type.currentText() == ClusterType.HUB.value
    act(dialog.buttons.accepted.emit)
    run_until(qtbot, lambda: bool(desktop.presenter.clusters()))
    (hub,) = desktop.presenter.clusters()
    assert hub.kind is ClusterKind.FLEET and hub.cluster_type is ClusterType.HUB


# -- 4. a URL with a blank ----------------------------------------------------------------------
def test_a_url_with_a_blank_is_refused_in_the_dialog(desktop: DesktopApp, qtbot) -> None:
    dialog = desktop.window.open_add_dialog()
    dialog.name.setText("prod-east")
    dialog.api_url.setText("https://api.prod-east.example :6443")  # a paste with a stray blank
    act(dialog.buttons.accepted.emit)
    run_until(qtbot, lambda: "blank" in dialog.error.text())
    assert dialog.isVisible() and desktop.presenter.clusters() == []
    assert dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()


# -- 5. the time range bar ------------------------------------------------------------------------
NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


def test_the_bar_refuses_a_span_after_now_or_before_the_cache(qtbot) -> None:
    bar = TimeRangeBar("1 h", clock=lambda: NOW, kept=timedelta(days=30))
    qtbot.addWidget(bar)
    bar.show()
    chosen: list[TimeRange] = []
    bar.sig_changed.connect(chosen.append)
    bar.range.setCurrentText(ABSOLUTE)
    for start, end, said in (
        (NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1), "after now"),
        (NOW + timedelta(days=3650), NOW + timedelta(days=3650, hours=6), "after now"),
        (NOW - timedelta(days=400), NOW - timedelta(days=399), "30 days"),
    ):
        bar.start.setDateTime(bar.start.dateTime().fromSecsSinceEpoch(int(start.timestamp())))
        bar.end.setDateTime(bar.end.dateTime().fromSecsSinceEpoch(int(end.timestamp())))
        bar.apply.click()
        assert chosen == [] and said in bar.problem.text() and bar.problem.isVisible()
    bar.show_span(NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1))  # all past now
    assert chosen == [] and "after now" in bar.problem.text()
    # a jump around a moment just past (logs 15 min before to 5 min after): up to now
    bar.show_span(NOW - timedelta(minutes=12), NOW + timedelta(minutes=8))
    assert chosen[-1] == TimeRange.between(NOW - timedelta(minutes=12), NOW)
    assert not bar.problem.isVisible()
    # one around an old anomaly: from the oldest the cache keeps
    bar.show_span(NOW - timedelta(days=30, hours=1), NOW - timedelta(days=29))
    assert chosen[-1] == TimeRange.between(NOW - timedelta(days=30), NOW - timedelta(days=29))


def test_a_bar_without_a_retention_takes_any_past_span(qtbot) -> None:
    """The Logs and Traces pages read their servers, whose retention is their own."""
    bar = TimeRangeBar("1 h", clock=lambda: NOW)
    qtbot.addWidget(bar)
    chosen: list[TimeRange] = []
    bar.sig_changed.connect(chosen.append)
    bar.show_span(NOW - timedelta(days=400), NOW - timedelta(days=399))
    assert chosen[-1].end == NOW - timedelta(days=399)


# -- 6. a double click on the sample -------------------------------------------------------------
class FakeChild:
    def poll(self) -> None:
        return None


def _press(widget: QWidget, kind: QEvent.Type) -> None:
    pos = QPointF(widget.rect().center())
    release = kind is QEvent.Type.MouseButtonRelease
    buttons = Qt.MouseButton.NoButton if release else Qt.MouseButton.LeftButton
    event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), Qt.MouseButton.LeftButton, buttons,
                        Qt.KeyboardModifier.NoModifier)  # fmt: skip
    QApplication.sendEvent(widget, event)


def test_a_double_click_on_the_sample_opens_it_once(
    desktop: DesktopApp, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[list[str]] = []

    def popen(cmd: list[str], **_: object) -> FakeChild:
        started.append(cmd)
        return FakeChild()

    monkeypatch.setattr(mw.subprocess, "Popen", popen)
    window = desktop.window
    button = window.empty_state.sample_button
    assert button.isVisible()
    kinds = QEvent.Type
    try:
        for kind in (kinds.MouseButtonPress, kinds.MouseButtonRelease,
                     kinds.MouseButtonDblClick, kinds.MouseButtonRelease):  # fmt: skip
            _press(button, kind)
        assert len(started) == 1
        assert window.open_capture("/elsewhere/other.aiops")  # another capture: opened
        assert len(started) == 2
    finally:
        for launched in window._launched:
            if launched.errors is not None:
                launched.errors.close()
        window._launched.clear()
        window._launch_watch.stop()


# -- 7. Enter in Settings -----------------------------------------------------------------------
def test_enter_in_settings_applies_and_tests_nothing(desktop: DesktopApp, qtbot) -> None:
    dialog = desktop.window.open_settings_dialog()
    tested: list[str] = []
    desktop.window.presenters.settings.sig_llm_tested.connect(tested.append)
    apply = dialog.buttons.button(QDialogButtonBox.StandardButton.Apply)
    assert apply.isDefault() and not dialog.llm_test.autoDefault()
    dialog.sensitivity.setCurrentIndex(dialog.sensitivity.findData(Sensitivity.HIGH))
    dialog.llm_model.setFocus()
    qtbot.keyClick(dialog.llm_model, Qt.Key.Key_Return)
    run_until(qtbot, lambda: desktop.core.anomalies.sensitivity is Sensitivity.HIGH)
    qtbot.wait(200)
    assert tested == [] and "Asking the model server" not in dialog.status.text()
    dialog.reject()
