"""The wall window, found in review: server text of any length costs the UI thread little (it
is cut before a label lays it out, and a label lays out no more lines than it shows); a page
that gains something CRITICAL is shown, whichever page it is, and stays its full turn."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

from aiops_desktop.models.wall import Tile, WallModel, WallPage
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
