"""Anomalies in the window: a known spike in a polled series becomes a marker on its chart and
a row of the anomalies view; a double click jumps to the chart."""

from __future__ import annotations

import time

import numpy as np

from aiops_desktop.app import DesktopApp
from aiops_desktop.models.enums import AnomalySeverity, AnomalyType
from aiops_desktop.services.intelligence.anomalies import AnomalyFilter
from aiops_desktop.store.series import SeriesBatch
from tests.ui.conftest import run_coro, run_until

SPIKE = 200


def test_a_known_spike_is_marked_on_its_chart_and_listed(desktop: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    core = desktop.core
    # this test's round, not the app's own loop racing it (1 run in 5 found nothing: the app's
    # round had judged the live samples before the stored hours were there)
    assert core.supervisor.cancel("anomaly-detection") == 1
    run_until(qtbot, lambda: "anomaly-detection" not in core.supervisor.names())
    panel = core.catalog[0]
    now = time.time() // 15 * 15
    ts = now - 15 * np.arange(1199, -1, -1, dtype=float)
    values = 40 + np.random.default_rng(3).normal(0, 1, ts.size)
    live = ts.size - 240  # the buffer: the last hour; the store holds the 4 h before it
    values[live + SPIKE : live + SPIKE + 2] += 30
    stored = SeriesBatch("east-1", panel.id, {"instance": "node-0"},
                         (ts[:live] * 1000).astype(np.int64), values[:live])  # fmt: skip
    core.series.append([stored]).result()
    core.series.flush().result()
    ts, values = ts[live:], values[live:]
    core.live.append("east-1", panel.id, {"instance": "node-0"}, ts, values)

    found = run_coro(qtbot, core.anomalies.analyse_live(force=True))
    assert found == 1  # the detector learnt from the stored hours, then saw the spike

    window = desktop.window
    window.show_cluster("east-1")
    chart = window.dashboard.charts[panel.id]
    run_until(qtbot, lambda: len(chart.anomaly_markers) == 1)
    [marker] = chart.anomaly_markers
    assert abs(marker.ts - ts[SPIKE]) <= 15 and marker.value > 65
    assert marker.level == "warning" and "context novelty" in marker.text
    assert " WARNING SPIKE" in marker.text  # the one severity word, not its HIGH grade
    assert chart._anomaly_item is not None and len(chart._anomaly_item.points()) == 1

    window.show_view("anomalies")
    view = window.anomalies
    run_until(qtbot, lambda: view.table.rowCount() == 1)
    assert view.table.item(0, 1).text() == "east-1"
    # the app's one severity word: a HIGH grade reads as a WARNING, as in Findings and Incidents
    assert view.table.item(0, 2).text() == AnomalySeverity.HIGH.level.value == "WARNING"
    assert view.title.text().endswith("1 shown, 0 CRITICAL, 1 WARNING")
    assert view.table.item(0, 3).text() == AnomalyType.SPIKE.value
    assert view.table.item(0, 4).text() == panel.id
    view.severity.setCurrentText("INFO")  # the filter reaches the store (MEDIUM, LOW)
    run_until(qtbot, lambda: view.table.rowCount() == 0)
    view.severity.setCurrentText("WARNING")
    run_until(qtbot, lambda: view.table.rowCount() == 1)
    view.severity.setCurrentText("CRITICAL")
    run_until(qtbot, lambda: view.table.rowCount() == 0)
    view.severity.setCurrentText("All")
    run_until(qtbot, lambda: view.table.rowCount() == 1)

    view.table.cellDoubleClicked.emit(0, 0)
    assert window.stack.currentWidget() is window.cluster_page
    assert window.dashboard.range.currentText() == "15 min"


def test_analyse_the_last_24_h_of_a_panel_from_its_chart(desktop: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Stored history with two spikes (10 h and 20 min ago, the second higher: a novelty
    detector does not report the same spike twice): the chart's menu action analyses it off
    the UI thread, stores both, marks the one inside the range and says where the other is."""
    core = desktop.core
    panel = core.catalog[0]
    now = time.time() // 60 * 60
    ts = now - 60 * np.arange(24 * 60 - 1, -1, -1, dtype=float)
    values = 40 + np.random.default_rng(8).normal(0, 1, ts.size)
    old, recent = ts.size - 600, ts.size - 20
    values[old : old + 2] += 30
    values[recent : recent + 2] += 60
    batch = SeriesBatch(
        "east-1", panel.id, {"instance": "node-0"}, (ts * 1000).astype(np.int64), values
    )
    core.series.append([batch]).result()
    core.series.flush().result()

    window = desktop.window
    window.show_cluster("east-1")
    chart = window.dashboard.charts[panel.id]
    assert chart.analyse_action.text() == "Analyse the last 24 h"
    chart.analyse_action.trigger()
    run_until(qtbot, lambda: "in the last 24 h" in window.dashboard.analysis.text())
    text = window.dashboard.analysis.text()
    # both spikes, HIGH (WARNING), and what else the detector found: since the range narrows
    # past a glitch (2026-12-07) a -3 sigma dip after its redraw is a LOW finding too (noted
    # in the README's NAB part: a cost of that fix, to look at)
    stored = run_coro(qtbot, core.anomalies.stored(AnomalyFilter(clusters=("east-1",))))
    high = sorted(a.timestamp.timestamp() for a in stored if a.severity.value == "HIGH")
    assert len(high) == 2 and abs(high[0] - ts[old]) <= 60 and abs(high[1] - ts[recent]) <= 60
    assert all(a.severity.value in ("HIGH", "LOW") for a in stored)
    assert text.startswith(
        f"{panel.title}: {len(stored)} anomalies in the last 24 h (worst WARNING"
    )
    assert f"{len(stored) - 1} outside this range: see Anomalies" in text
    [marker] = chart.anomaly_markers
    assert abs(marker.ts - ts[recent]) <= 60 and marker.value > 95


def test_a_history_too_short_for_the_detector_says_so(desktop: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Two hours at 60 s (120 samples) with a spike: the detector only learns from a series'
    first 750 samples, and the line says so instead of a bare "no anomaly"."""
    core = desktop.core
    panel = core.catalog[0]
    now = time.time() // 60 * 60
    ts = now - 60 * np.arange(119, -1, -1, dtype=float)
    values = 40 + np.random.default_rng(9).normal(0, 1, ts.size)
    values[100:102] += 30
    batch = SeriesBatch("east-1", panel.id, {"instance": "node-0"},
                        (ts * 1000).astype(np.int64), values)  # fmt: skip
    core.series.append([batch]).result()
    core.series.flush().result()
    window = desktop.window
    window.show_cluster("east-1")
    window.dashboard.charts[panel.id].analyse_action.trigger()
    run_until(qtbot, lambda: "in the last 24 h" in window.dashboard.analysis.text())
    assert window.dashboard.analysis.text() == (
        f"{panel.title}: no anomaly in the last 24 h (the detector learns from a series' "
        "first 750 samples; this history holds 120)"
    )
