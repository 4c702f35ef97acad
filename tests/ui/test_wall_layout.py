"""The wall fits its screen whatever the fleet: tiles never smaller than their type needs (a
fleet too big for one screen is shown a screen at a time, worst first, with "+N more"), no
label from outside widens the window, stale data is badged with since when, and a tile that
was CRITICAL and went unknown for a while is not news when it is CRITICAL again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aiops_desktop.models.wall import Tile, WallModel, WallPage
from ui.theme import Theme
from ui.wall.window import TileWidget, WallWindow, tile_least

AT = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
XID = "gpu-1/gpu3: XID 79 (GPU fell off the bus)"


def fleet(n: int) -> WallModel:
    tiles = [Tile(f"cluster-{i:03d}", "CRITICAL" if i < 3 else "WARNING" if i < 10 else "OK",
                  ["CRITICAL · score 50", "GPU 1 ✖", XID], 20.0) for i in range(n)]  # fmt: skip
    return WallModel([WallPage("fleet", "Fleet", tiles)], "polling OK · 400 sources", AT)


@pytest.fixture
def wall(qtbot, theme: Theme):  # type: ignore[no-untyped-def]
    window = WallWindow(theme, rotate_s=3600)
    qtbot.addWidget(window)
    window.setFixedSize(1920, 1080)
    window.show()
    yield window
    window.allow_close()


def shown(window: WallWindow) -> list[TileWidget]:
    page = window.stack.currentWidget()
    return [t for t in page.tiles if t.isVisible()]


@pytest.mark.parametrize("n", [4, 24, 200])
def test_tiles_fit_the_screen_at_a_readable_size(
    wall: WallWindow, qtbot, theme: Theme, n: int
) -> None:  # type: ignore[no-untyped-def]
    wall.show_model(fleet(n))
    qtbot.wait(100)  # laid out
    page = wall.stack.currentWidget()
    tiles = shown(wall)
    least_w, least_h = tile_least(theme, tiles[0].scale)
    assert least_w >= 300 and least_h >= 160  # a title, three lines and an age at 1080 lines
    for tile in tiles:  # inside the page, none overlapping the next, none too small to read
        box = tile.geometry()
        assert box.bottom() < page.height() and box.right() < page.width()
        assert box.width() >= least_w and box.height() >= least_h
        # the age line is inside its tile: nothing is pushed out of it
        assert tile.age.geometry().bottom() <= tile.height()
    assert tiles[0].title.font().pointSize() >= round(0.8 * theme.font_pt("wall_pt"))
    per_screen = len(tiles)
    if n <= per_screen:
        assert n == per_screen and not page.more.isVisible()
        assert wall.title.text() == "Fleet · CRITICAL"
        return
    screens = -(-n // per_screen)
    assert page.more.isVisible() and page.more.full_text() == (
        f"+{n - per_screen} more · screen 1 of {screens}"
    )
    assert wall.title.text() == f"Fleet · CRITICAL · screen 1 of {screens}"
    assert "▶ Fleet 1/" in wall.pages_label.full_text()
    # the worst first, then each further screen in turn, then round to the first
    assert tiles[0].title.full_text() == "✖ cluster-000"
    seen = [t.title.full_text() for t in tiles]
    for _ in range(screens - 1):
        wall.next_page()
        seen += [t.title.full_text() for t in shown(wall)]
    assert seen == [("✖ " if i < 3 else "▲ " if i < 10 else "● ") + f"cluster-{i:03d}"
                    for i in range(n)]  # fmt: skip
    assert wall.title.text() == f"Fleet · CRITICAL · screen {screens} of {screens}"
    wall.next_page()
    assert shown(wall)[0].title.full_text() == "✖ cluster-000"
    assert len(page.tiles) == per_screen  # slots for a screen, not for the whole fleet


def test_text_from_outside_never_widens_the_window(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    window = WallWindow(theme, rotate_s=3600)
    qtbot.addWidget(window)
    window.resize(1920, 1080)  # not fixed: a label could make it grow
    window.show()
    name = "GPUXidErrorFellOffTheBus" * 8  # 192 characters, no space
    markup = '<img src="file:///etc/passwd"><a href="http://x">click</a>'
    tiles = [Tile(name, "CRITICAL", ["1 firing · CRITICAL", "ran-east", "began 5 min ago"]),
             Tile(markup, "CRITICAL", ["1 firing · CRITICAL", name, "x" * 3000])]  # fmt: skip
    model = WallModel([WallPage("alerts", "Alerts firing", tiles)],
                      "1 of 1 sources failing · ran-east/alerts: " + "e" * 500, AT,
                      "CAPTURE " + "c" * 200)  # fmt: skip
    window.show_model(model)
    qtbot.wait(100)
    assert window.width() == 1920
    first, second = shown(window)
    assert "…" in first.title.text() and first.title.full_text() == f"✖ {name}"  # cut mid-word
    assert first.title.minimumSizeHint().width() == 0
    assert second.title.full_text() == f"✖ {markup}"  # as text, never as markup
    assert second.lines[2].text().endswith("…")
    assert window.health.text().endswith("…") and len(window.badge.text()) <= 40


def test_a_stale_tile_says_since_when(wall: WallWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    lost = datetime(2026, 12, 4, 18, 5, tzinfo=UTC)
    tiles = [Tile("PtpClockFreerun", "CRITICAL", ["1 firing · CRITICAL"], 10800.0, True, lost),
             Tile("ran-west", "UNKNOWN", ["STALE · score 85"], None, True)]  # fmt: skip
    wall.show_model(WallModel([WallPage("alerts", "Alerts", tiles)], "", AT))
    first, second = shown(wall)
    assert first.age.full_text() == "STALE since 18:05 UTC · data 3.0 h ago"
    assert second.age.full_text() == "STALE"


def test_a_critical_tile_unknown_for_a_while_does_not_flash_again(wall: WallWindow) -> None:
    def model(state: str) -> WallModel:
        tiles = [Tile("ran-east", state, ["GPU"]), Tile("ran-west", "OK", ["fine"])]
        return WallModel([WallPage("gpu", "GPUs", tiles)], "", AT)

    wall.show_model(model("OK"))
    wall.show_model(model("CRITICAL"))
    assert wall.flashes == 1
    wall.show_model(model("UNKNOWN"))  # its findings could not be read
    wall.show_model(model("CRITICAL"))  # read again: the same CRITICAL, not news
    assert wall.flashes == 1
    wall.show_model(model("OK"))
    wall.show_model(model("CRITICAL"))  # a new one
    assert wall.flashes == 2


def test_the_fleet_pages_tiles_badge_what_the_wall_badges(qtbot) -> None:  # type: ignore[no-untyped-def]
    """A CRITICAL cluster whose Alertmanager is unreachable shows old data: stale, with
    which source and since when; a hub's own CRITICAL alert makes the hub a tile."""
    from datetime import timedelta

    from aiops_desktop.models import AlertSeverity
    from aiops_desktop.models.polling import Source
    from aiops_desktop.services.polling.live import LiveBuffers
    from aiops_desktop.services.runtime.supervisor import TaskSupervisor
    from tests.qtfree.test_fleet_truth_failures import T0, alert, cluster, make_wall, polled
    from ui.presenters.fleet import FleetPresenter

    w = make_wall([cluster("ran-east"), cluster("ran-hub", hub=True, members=("ai-lab",))])
    w.poller.alerts = {
        "ran-east": [alert("NodeDown", AlertSeverity.CRITICAL, T0)],
        "ran-hub": [alert("ThanosReceiveDown", AlertSeverity.CRITICAL, T0, "ran-hub")],
        "ai-lab": [],
    }  # fmt: skip
    w.now[0] = T0 + timedelta(minutes=5)
    for name in ("ran-east", "ran-hub"):
        polled(w.poller, name, Source.METRICS, w.now[0])
    polled(w.poller, "ran-hub", Source.ALERTS, w.now[0])
    polled(w.poller, "ran-east", Source.ALERTS, w.now[0], failing=True)  # read at T0 last
    w.fleet._refreshed_at = w.now[0]
    w.fleet._read_at = dict.fromkeys(("ran-east", "ran-hub"), w.now[0])  # their findings read
    presenter = FleetPresenter(registry=w.wall.registry, fleet=w.fleet, live=LiveBuffers(),
                               catalog=[], tasks=TaskSupervisor())  # fmt: skip
    tiles = {t.name: t for t in presenter.tiles()}
    assert set(tiles) == {"ran-east", "ran-hub", "ai-lab"}  # the hub: for its own alert
    east = tiles["ran-east"]
    assert east.state == "CRITICAL" and east.stale
    assert east.freshness == "data 0 s ago · alerts unreachable since 12:00 UTC"
    assert tiles["ran-hub"].worst.startswith("ThanosReceiveDown") and not tiles["ai-lab"].stale
    presenter.deleteLater()


def test_a_members_dashboard_says_when_its_hub_last_had_it(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The hub answers (fresh), but a member it no longer has is STALE, and how fresh the
    hub's own data is (its newest sample: ACM pushes every 30-300 s) is said."""
    from datetime import timedelta

    from aiops_desktop.models import utcnow
    from aiops_desktop.models.polling import Source
    from aiops_desktop.services.polling.live import LiveBuffers
    from aiops_desktop.services.runtime.bus import EventBus
    from aiops_desktop.services.runtime.supervisor import TaskSupervisor
    from tests.qtfree.test_fleet_truth_failures import Poller, Registry, cluster, polled
    from ui.presenters.dashboard import DashboardPresenter

    hub = cluster("ran-hub", hub=True, members=("ran-east", "ai-lab"))

    class Hubs(Registry):
        def hub_of(self, name: str) -> object:
            return hub if name in hub.status.members else None

    poller, now = Poller(), utcnow()
    polled(poller, "ran-hub", Source.METRICS, now)
    poller.hub_newest["ran-hub"] = now - timedelta(seconds=45)
    poller.member_seen["ran-hub"] = {"ran-east": now - timedelta(minutes=10), "ai-lab": now}
    presenter = DashboardPresenter(
        registry=Hubs([hub]), poller=poller, live=LiveBuffers(), anomalies=None, catalog=[],
        bus=EventBus(), tasks=TaskSupervisor(),
    )  # fmt: skip
    said: list[tuple[str, bool]] = []
    presenter.sig_freshness.connect(lambda text, stale: said.append((text, stale)))
    for name in ("ran-east", "ai-lab"):
        presenter.cluster = name
        presenter._emit_freshness()
    assert said == [("data 10 min ago · STALE · the hub's newest sample 45 s ago", True),
                    ("data 0 s ago · the hub's newest sample 45 s ago", False)]  # fmt: skip
    presenter.close()
    presenter.deleteLater()
