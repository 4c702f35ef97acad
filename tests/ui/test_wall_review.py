"""The wall window, found in review: server text of any length costs the UI thread little (it
is cut before a label lays it out, and a label lays out no more lines than it shows); a page
that gains something CRITICAL is shown, whichever page it is, and stays its full turn; one
flapping, or a storm of them, starves no page (the order holds for a turn of the pages); a
line of emoji cut keeps its ellipsis."""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import UTC, datetime

from aiops_desktop.models.wall import RANK, Tile, WallModel, WallPage
from ui.wall import window as wall_window
from ui.wall.window import FittedLabel, WallWindow

AT = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)


def ok(name: str) -> WallPage:
    return WallPage(name, name.upper(), [Tile(f"{name}-1", "OK", ["OK"], 5.0)])


def critical(name: str, title: str) -> WallPage:
    return WallPage(name, name.upper(), [Tile(title, "CRITICAL", ["CRITICAL · why"], 5.0)])


def window(qtbot, theme, rotate_s: float = 3600) -> WallWindow:  # type: ignore[no-untyped-def]
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"
    win = WallWindow(theme, rotate_s=rotate_s)
    qtbot.addWidget(win)
    win.setFixedSize(1920, 1080)
    win.show()
    qtbot.waitExposed(win)
    return win


# -- #1: long server text ---------------------------------------------------------------------
def test_a_huge_line_or_title_costs_the_ui_thread_little(qtbot, qapp, theme) -> None:  # type: ignore[no-untyped-def]
    win = window(qtbot, theme)
    huge = ("KubePodCrashLooping pod " * 10_000)[:200_000]
    spent = []
    try:
        for i in range(3):  # a line of the tile changes at each refresh: its lines are refit
            tile = Tile(huge, "CRITICAL", [f"CRITICAL · score {50 + i % 2}", "alerts 1", huge], 5)
            began = time.perf_counter()
            win.show_model(WallModel([WallPage("fleet", "Fleet", [tile])], "x" * 10**6, AT))
            qapp.processEvents()
            spent.append(time.perf_counter() - began)
        # the text was laid out whole: 3.5-14 s a refresh for 1 MB
        assert max(spent) < 1.0, spent
        page = win._pages["fleet"]
        slot = page.tiles[0]
        for label in (slot.title, slot.lines[2], win.health):
            kept = label.full_text()
            assert len(kept) <= wall_window.TEXT_CHARS and kept.endswith("…")
        assert slot.lines[2].full_text().startswith("KubePodCrashLooping pod")
        assert slot.lines[0].full_text() == "CRITICAL · score 50"  # short text: as it is
    finally:
        win.allow_close()


def test_a_label_keeps_and_lays_out_no_more_than_it_shows(qtbot) -> None:  # type: ignore[no-untyped-def]
    label = FittedLabel()
    qtbot.addWidget(label)
    label.resize(300, 400)
    began = time.perf_counter()
    label.set_text("word " * 200_000)  # 1 MB
    label.set_max_lines(3)
    needed = label.lines_needed(5)
    assert time.perf_counter() - began < 0.5  # was 3.9 s: laid out whole, 1000 lines counted
    assert needed == 5  # as many as asked about, no more counted
    assert len(label.full_text()) == wall_window.TEXT_CHARS
    shown = label.text().split("\n")
    assert len(shown) == 3 and shown[-1].endswith("…")
    label.set_text("word " * 3)  # short: whole, on one line
    assert label.text() == "word word word" and label.lines_needed(5) == 1


# -- #4: a new CRITICAL's page shown, for its full turn ----------------------------------------
def test_a_new_critical_shows_its_page_whichever_it_is(qtbot, theme) -> None:  # type: ignore[no-untyped-def]
    win = window(qtbot, theme)
    try:
        old = critical("fleet", "old-bad")  # CRITICAL for days
        win.show_model(WallModel([old, ok("gpu"), ok("ptp")], "polling OK", AT))
        win.next_page()
        assert win.current_page() == "gpu"
        ptp = critical("ptp", "ran-east")  # turns CRITICAL now
        win.show_model(WallModel([old, ptp, ok("gpu")], "polling OK", AT))
        assert win.flashes == 1
        assert win.current_page() == "ptp"
        # nothing new: the rotation goes on as it was
        win.next_page()
        win.show_model(WallModel([old, ptp, ok("gpu")], "polling OK", AT))
        assert win.current_page() == "gpu" and win.flashes == 1
    finally:
        win.allow_close()


def test_a_page_brought_forward_stays_its_full_turn(qtbot, theme) -> None:  # type: ignore[no-untyped-def]
    win = window(qtbot, theme, rotate_s=2)
    try:
        win.show_model(WallModel([ok("fleet"), ok("gpu"), ok("ptp")], "polling OK", AT))
        win.rotation.start()
        qtbot.wait(1500)  # into the running turn: 0.5 s of it left
        win.show_model(WallModel([critical("ptp", "ran-east"), ok("fleet"), ok("gpu")],
                                 "polling OK", AT))  # fmt: skip
        assert win.current_page() == "ptp"
        qtbot.wait(1000)  # past the end of the turn that was running: a turn of its own
        assert win.current_page() == "ptp"
        qtbot.waitUntil(lambda: win.current_page() == "fleet", timeout=3000)  # then on
    finally:
        win.allow_close()


# -- review of the above: a flapping CRITICAL starves no page; the order holds for a turn ------
class VirtualTimer:
    """The rotation's timer on a virtual clock (seconds), so that half an hour of a wall runs
    in a moment: ``start`` begins a full interval from now, as QTimer.start does."""

    def __init__(self, clock: list[int], every: int) -> None:
        self.clock, self.every, self.due = clock, every, every

    def start(self) -> None:
        self.due = self.clock[0] + self.every

    def stop(self) -> None:
        pass


def run_wall(win: WallWindow, pages, seconds: int) -> tuple[Counter[str], list[str]]:  # type: ignore[no-untyped-def]
    """Run ``win`` for ``seconds`` virtual seconds, a model every 2 s (``pages(t)``, sorted
    worst first as the wall's builder does) and a 20 s rotation: how long each page was
    shown, and the pages in the order shown."""
    clock = [0]
    win.rotation.stop()
    timer = win.rotation = VirtualTimer(clock, 20)  # type: ignore[assignment]
    on_screen: Counter[str] = Counter()
    shown: list[str] = []
    for t in range(seconds):
        clock[0] = t
        if t % 2 == 0:
            model = sorted(pages(t), key=lambda p: RANK[p.worst])
            win.show_model(WallModel(model, "polling OK", AT))
        if t >= timer.due:
            win.next_page()
            timer.due += 20
        on_screen[win.current_page()] += 1
        if not shown or shown[-1] != win.current_page():
            shown.append(win.current_page())
    return on_screen, shown


ASKED = ["fleet", "gpu", "ptp", "incidents", "alerts"]


def flapping(half: int):  # type: ignore[no-untyped-def]
    """The five pages, the alerts page's NodeNotReady CRITICAL ``half`` s, resolved ``half``
    s, a WARNING always; the fleet WARNING; the rest OK."""

    def pages(t: int) -> list[WallPage]:
        out = []
        for name in ASKED:
            if name == "alerts":
                firing = (t // half) % 2 == 0
                tiles = [Tile("NodeNotReady", "CRITICAL", ["1 firing"])] if firing else []
                tiles.append(Tile("KubeJobFailed", "WARNING", ["1 firing"]))
                crit = frozenset({"NodeNotReady"}) if firing else frozenset()
                out.append(WallPage(name, name, tiles, critical=crit))
            elif name == "fleet":
                out.append(WallPage(name, name, [Tile("c1", "WARNING", ["x"])]))
            else:
                out.append(ok(name))
        return out

    return pages


def test_a_flapping_critical_starves_no_page(qtbot, theme) -> None:  # type: ignore[no-untyped-def]
    for half in (30, 7):  # the reviewer's flap, and one faster than a page's turn
        win = window(qtbot, theme, rotate_s=20)
        try:
            on_screen, _ = run_wall(win, flapping(half), 1200)
            # a turn of the five pages is 100 s: each has its 20 s about once in each
            # (was: gpu, ptp and incidents never shown, alerts 2/3 of the time)
            assert set(on_screen) == set(ASKED), (half, on_screen)
            assert min(on_screen.values()) >= 160, (half, on_screen)
            assert win.flashes >= 2  # each time it fires again the room is still told
        finally:
            win.allow_close()


def test_the_order_holds_for_a_whole_turn_of_the_pages(qtbot, theme) -> None:  # type: ignore[no-untyped-def]
    def pages(t: int) -> list[WallPage]:  # the PTP page WARNING 30 s, OK 30 s: re-sorted
        state = "WARNING" if (t // 30) % 2 == 0 else "OK"
        return [WallPage("ptp", "PTP", [Tile("p1", state, ["x"])]) if n == "ptp" else ok(n)
                for n in ASKED]  # fmt: skip

    win = window(qtbot, theme, rotate_s=20)
    try:
        on_screen, shown = run_wall(win, pages, 1000)
        # each run of five pages shown is the five pages, each once (was: ptp 1/2 as often)
        for start in range(0, len(shown) - 5, 5):
            assert sorted(shown[start : start + 5]) == sorted(ASKED), shown
        assert max(on_screen.values()) - min(on_screen.values()) <= 20, on_screen
    finally:
        win.allow_close()


def test_a_critical_new_again_after_a_turn_is_shown_at_once(qtbot, theme) -> None:  # type: ignore[no-untyped-def]
    win = window(qtbot, theme)
    try:
        pages = [ok(n) for n in ("fleet", "gpu", "ptp")]
        win.show_model(WallModel(pages, "polling OK", AT))
        bad = critical("ptp", "ran-east")
        win.show_model(WallModel([bad, *pages[:2]], "polling OK", AT))
        assert win.current_page() == "ptp"  # new: at once
        win.next_page()
        assert win.current_page() == "fleet"  # back to the page it came before
        win.show_model(WallModel(pages, "polling OK", AT))  # resolved
        win.show_model(WallModel([bad, *pages[:2]], "polling OK", AT))  # fires again at once
        assert win.current_page() == "fleet" and win.flashes == 2  # said, not brought forward
        win.show_model(WallModel(pages, "polling OK", AT))  # resolved for a whole turn
        for _ in range(3):
            win.next_page()
        assert win.current_page() == "fleet"
        win.show_model(WallModel([bad, *pages[:2]], "polling OK", AT))  # new again
        assert win.current_page() == "ptp" and win.flashes == 3
    finally:
        win.allow_close()


# -- review of the above: a cut line with emoji keeps its ellipsis -------------------------------
def test_a_cut_line_of_emoji_ends_with_an_ellipsis(qtbot) -> None:  # type: ignore[no-untyped-def]
    label = FittedLabel()
    qtbot.addWidget(label)
    label.resize(300, 200)
    label.set_max_lines(2)
    width = label.contentsRect().width()
    metrics = label.fontMetrics()
    for n in range(10, 400, 10):  # emoji are two UTF-16 units each: Qt's offsets are those
        text = "🔥" * n + " NODE DOWN in rack 12"
        label.set_text(text)
        lines = label.text().split("\n")
        assert lines[0] and text.startswith(lines[0]), (n, lines)
        for line in lines:  # each line as wide as the label, no wider
            assert metrics.horizontalAdvance(line) <= width, (n, line)
        if len(lines) == 2 and not text.endswith(lines[1]):  # cut: said so
            assert lines[1].endswith("…"), (n, lines)
        assert label.lines_needed(5) >= len(lines)


def test_an_alert_storm_holds_the_wall_on_no_page(qtbot, theme) -> None:  # type: ignore[no-untyped-def]
    def pages(t: int) -> list[WallPage]:  # a CRITICAL alert new every 6 s, each one new
        storm = WallPage("alerts", "alerts", [Tile(f"Alert{t // 6}", "CRITICAL", ["1 firing"])])
        return [storm if n == "alerts" else ok(n) for n in ASKED]

    win = window(qtbot, theme, rotate_s=20)
    try:
        on_screen, _ = run_wall(win, pages, 1200)
        # brought forward at most once a turn of the pages: the others have theirs
        assert min(on_screen.values()) >= 160, on_screen
        assert win.flashes >= 100  # each new one still flashes
    finally:
        win.allow_close()
