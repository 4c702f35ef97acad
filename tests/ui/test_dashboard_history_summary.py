"""The dashboard's line after "Analyse the last 24 h": "no anomaly" is never said of a window
whose start the detectors only learnt from (the stored history began within their lead)."""

from __future__ import annotations

from ui.presenters.dashboard import LEARNS_FROM, history_summary


def test_a_window_judged_only_in_part_says_so() -> None:
    said = history_summary("GPU temperature", [], 0, 24, samples=2_000, judged=(0, 3))
    assert said.startswith("GPU temperature: no anomaly in the last 24 h; 3 judged only in part")
    assert f"first {LEARNS_FROM:,} samples" in said


def test_series_too_short_and_in_part_are_both_said() -> None:
    said = history_summary("Node CPU", [], 0, 24, samples=2_000, judged=(2, 1))
    assert "; 2 series too short to judge and 1 judged only in part (" in said


def test_a_window_judged_whole_says_nothing_more() -> None:
    said = history_summary("Node CPU", [], 0, 24, samples=2_000, judged=(0, 0))
    assert said == "Node CPU: no anomaly in the last 24 h"


def test_a_history_too_short_to_leave_learning_says_why_as_before() -> None:
    said = history_summary("Node CPU", [], 0, 24, samples=120, judged=(1, 0))
    assert said == (
        f"Node CPU: no anomaly in the last 24 h (the detector learns from a series' first "
        f"{LEARNS_FROM:,} samples; this history holds 120)"
    )
