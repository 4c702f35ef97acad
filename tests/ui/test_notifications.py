"""A new CRITICAL finding is told: a status-bar line always, a desktop notification when the
person opted in, never for what was already CRITICAL when the window opened; the wall
flashes its frame when a tile turns CRITICAL."""

from __future__ import annotations

from datetime import UTC, datetime

from aiops_desktop.models.fleet import (
    ClusterTruth,
    Domain,
    Finding,
    FindingSeverity,
    FleetTruth,
    Health,
    new_critical,
)
from aiops_desktop.models.wall import Tile, WallModel, WallPage
from ui.notifier import CriticalNotifier
from ui.theme import Theme
from ui.wall.window import WallWindow

AT = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)


def truth(*findings: Finding) -> FleetTruth:
    state = Health.CRITICAL if findings else Health.OK
    return FleetTruth(AT, [ClusterTruth("ran-east", "ran-east", None, state, 50, 1.0,
                                        list(findings), {})])  # fmt: skip


XID = Finding(Domain.GPU, FindingSeverity.CRITICAL, "gpu-1/gpu3", "XID 79 GPU has fallen off")
FREERUN = Finding(Domain.PTP, FindingSeverity.CRITICAL, "du-2/ens1f0", "clock in FREERUN")
HOT = Finding(Domain.GPU, FindingSeverity.WARNING, "gpu-0/gpu5", "temperature 78 C")


def test_only_new_critical_findings_are_news() -> None:
    assert new_critical(None, truth(XID)) == []  # on screen at start: not news
    assert new_critical(truth(XID), truth(XID, HOT)) == []  # a warning is not CRITICAL
    assert new_critical(truth(XID), truth(XID, FREERUN)) == [
        "ran-east: du-2/ens1f0: clock in FREERUN"]  # fmt: skip


def test_the_notifier_tells_when_opted_in(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QIcon

    said: list[str] = []
    notifier = CriticalNotifier(QIcon(), lambda text, _ms: said.append(text), enabled=False)
    notifier.observe(truth(XID))
    notifier.observe(truth(XID, FREERUN))
    assert said == ["New CRITICAL: ran-east: du-2/ens1f0: clock in FREERUN"]
    assert notifier.told == []  # not opted in: the status bar only
    notifier.enabled = True
    notifier.observe(truth())
    notifier.observe(truth(XID, FREERUN))
    assert notifier.told == ["ran-east: gpu-1/gpu3: XID 79 GPU has fallen off (+1 more)"]


def test_the_notifier_keeps_a_bounded_record(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QIcon

    from ui.notifier import MAX_TOLD

    notifier = CriticalNotifier(QIcon(), lambda _text, _ms: None, enabled=True)
    notifier.observe(truth())
    for i in range(MAX_TOLD + 50):  # a port flapping all night
        port = Finding(Domain.PTP, FindingSeverity.CRITICAL, f"du-2/ens{i}", "clock in FREERUN")
        notifier.observe(truth(port))
        notifier.observe(truth())
    assert len(notifier.told) == MAX_TOLD
    assert notifier.told[-1] == f"ran-east: du-2/ens{MAX_TOLD + 49}: clock in FREERUN"


def test_a_notification_carries_no_markup_or_controls_of_a_server(qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An alert's summary is a server's words: the notification server reads the body as
    markup (a link, a tracking image), and a right-to-left override makes it read otherwise;
    the body is one printable line, escaped, and cut."""
    from PySide6.QtGui import QIcon

    sent: list[str] = []

    class Tray:  # what a desktop's tray is handed (the offscreen platform has none)
        def showMessage(self, _title: str, body: str, *_args: object) -> None:
            sent.append(body)

    monkeypatch.setattr(CriticalNotifier, "_tray_icon", lambda _self: Tray())
    said: list[str] = []
    notifier = CriticalNotifier(QIcon(), lambda text, _ms: said.append(text), enabled=True)
    notifier.observe(truth())
    forged = Finding(Domain.ALERTS, FindingSeverity.CRITICAL, "KubeAPIDown",
                     'down: <a href="https://evil.example/sso">re-login</a>\n\u202edrowssap'
                     + "x" * 5000)  # fmt: skip
    notifier.observe(truth(forged))
    (body,) = sent
    assert "<a" not in body and "&lt;a href=" in body
    assert "\u202e" not in body and "\n" not in body and len(body) < 500
    assert "\u202e" not in said[0] and "\n" not in said[0]


def test_the_wall_flashes_when_a_tile_turns_critical(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    wall = WallWindow(theme, rotate_s=3600)
    qtbot.addWidget(wall)

    def model(state: str) -> WallModel:
        tiles = [Tile("ran-east", state, ["GPU 1"]), Tile("ran-west", "OK", ["fine"])]
        return WallModel([WallPage("fleet", "Fleet", tiles)], "polling ok", AT)

    wall.show_model(model("WARNING"))
    assert wall.flashes == 0
    wall.show_model(model("CRITICAL"))
    assert wall.flashes == 1 and "border: 12px" in wall.styleSheet()
    wall.show_model(model("CRITICAL"))  # still critical: no new flash
    assert wall.flashes == 1
    qtbot.waitUntil(lambda: "border" not in wall.styleSheet(), timeout=5000)  # and it calms
    wall.allow_close()


def test_the_settings_dialog_turns_notifications_on(desktop, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    from aiops_desktop.settings import Settings
    from tests.ui.conftest import run_until

    window = desktop.window
    assert not window.notifier.enabled
    dialog = window.open_settings_dialog()
    dialog.notify.setChecked(True)
    apply = dialog.buttons.button(dialog.buttons.StandardButton.Apply)
    qtbot.mouseClick(apply, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: "notifications of new CRITICAL findings on" in dialog.status.text())
    assert window.notifier.enabled  # at once, not from the next start
    kept, _problem = Settings.load(desktop.core.paths.settings_file)
    assert kept.ui.notify_critical and kept.ui.theme == "system"
    dialog.reject()
