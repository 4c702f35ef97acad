"""The wall flashes its frame when something turns CRITICAL, not when a CRITICAL alert group
resolves: with more groups than a page shows, a hidden group resolving (the overflow tile's
count changes) or moving into view (one shown resolved) is no news; a new CRITICAL group is,
shown or hidden. Judged on the page's CRITICAL group keys, as the wall's builder makes it."""

from __future__ import annotations

import os
from datetime import timedelta

from aiops_desktop.models import AlertSeverity, utcnow
from aiops_desktop.models.alerts import Alert
from aiops_desktop.secrets import NoSecrets
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.wall import ALERT_GROUPS
from aiops_desktop.settings import resolve_paths
from tests.ui.conftest import run_coro
from ui.wall.window import WallWindow

NOW = utcnow()


def alert(n: int) -> Alert:
    # the oldest first among equals: group n sorts before group n + 1
    began = NOW - timedelta(hours=100 - n)
    return Alert(fingerprint=f"f{n}", cluster="ran-east", name=f"Alert{n:02d}",
                 severity=AlertSeverity.CRITICAL, starts_at=began)  # fmt: skip


def test_a_resolving_critical_group_does_not_flash(qtbot, qloop, theme, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"
    core = Core.open(resolve_paths(tmp_path / "home"), secrets=NoSecrets())
    window = WallWindow(theme, rotate_s=3600)
    qtbot.addWidget(window)

    def show(*numbers: int) -> int:
        core.poller.alerts["ran-east"] = [alert(n) for n in numbers]
        before = window.flashes
        window.show_model(core.wall.build(["alerts"], now=NOW))
        return window.flashes - before

    try:
        many = range(ALERT_GROUPS + 14)  # 12 shown, 14 counted in one tile
        show(*many)
        assert show(*many) == 0  # nothing changed
        assert show(*many[:-1]) == 0  # a hidden group resolved: 13 more
        assert show(*many[1:-1]) == 0  # a shown one resolved: a hidden one comes into view
        assert show(*many[1:-1], 90) == 1  # a new CRITICAL group (hidden): the room looks up
        assert show(*many[2:-1], 90) == 0
    finally:
        window.allow_close()
        run_coro(qtbot, core.shutdown())
