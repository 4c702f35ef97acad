"""The Incidents page and the root-cause analysis over the bundled sample capture: the
sample's FREERUN clock, XID 79 and hot GPU become incidents (open first, critical first in
the title), acknowledging one moves it on, and "Analyse root cause" ranks the FREERUN port
first with its evidence chart and the runbook's next check; a reference screenshot of each."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from aiops_desktop.app import DesktopApp
from aiops_desktop.qt_boot import save_screenshot
from tests.ui.conftest import run_until
from tests.ui.references import check_against_reference


def test_incidents_and_their_root_cause(sample_desktop: DesktopApp, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = sample_desktop.window
    window.show_view("incidents")
    view = window.page("incidents")
    run_until(qtbot, lambda: any("FREERUN" in i.title for i in view._all), timeout=20)
    titles = [i.title for i in view._rows]
    freerun = next(i for i in view._rows if "FREERUN" in i.title)
    assert freerun.severity.value == "CRITICAL" and freerun.clusters == ["ran-east"]
    assert {s.source for s in freerun.signals} == {"PTP", "anomaly"}  # finding and series
    assert any(t.startswith("ran-east: gpu-1/gpu3: XID 79") for t in titles)
    assert view.title.text() == f"Incidents · {len(view._rows)} open · 3 critical"
    assert [i.severity.value for i in view._rows][:3] == ["CRITICAL"] * 3  # critical first
    assert freerun.title == (
        "ran-east: du-2/ens1f0 (ptp4l): clock in FREERUN (clock class 165) (+3 signals)"
    )

    # a double click on a finding opens its page; on an anomaly, its chart
    xid = next(i for i in view._rows if "XID 79" in i.title)
    view.select(xid.id)
    view._on_timeline_double_clicked(0, 0)
    assert window.stack.currentWidget() is window.page("gpu")
    window.show_view("incidents")

    view.select(freerun.id)
    assert view.timeline.rowCount() == len(freerun.signals)
    subjects = [view.timeline.item(r, 4).text() for r in range(view.timeline.rowCount())]  # type: ignore[union-attr]
    anomaly = next(s for s in freerun.timeline if s.source == "anomaly")
    # an anomaly's row names its port, not its metric alone
    assert f"{anomaly.entity.removeprefix('ran-east ')}: {anomaly.subject}" in subjects
    # a capture is read-only: its incidents are analysed, never acknowledged (an
    # acknowledgement went into its temporary copy and was lost on close)
    assert view.ack_button.isHidden() and view.rca_button.isEnabled()
    shot = save_screenshot(window, tmp_path / "incidents_sample.png")
    check_against_reference(shot, "incidents_sample.png", tolerance=12.0)

    qtbot.mouseClick(view.rca_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: view.rca.ranking.rowCount() > 0, timeout=20)
    assert view.tabs.currentWidget() is view.rca
    first = view.rca.ranking.item(0, 1)
    assert first is not None and first.text() == "ran-east du-2/ens1f0"
    assert "FREERUN" in view.rca.ranking.item(0, 4).text()  # type: ignore[union-attr]
    assert view.rca.charts and view.rca.charts[0].curve_count >= 1  # its evidence, drawn
    assert "clock in FREERUN" in view.rca.checks.text()
    assert "Safe action:" in view.rca.checks.text()
    shot = save_screenshot(window, tmp_path / "rca_sample.png")
    check_against_reference(shot, "rca_sample.png", tolerance=12.0)


def test_analyse_root_cause_from_an_anomaly(sample_desktop: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    """From the Anomalies page: the selected anomaly's cluster around its start, ranked on the
    Incidents page's Root cause tab."""
    window = sample_desktop.window
    window.show_view("anomalies")
    anomalies = window.page("anomalies")
    run_until(qtbot, lambda: any(a.metric == "ptp_clock_state" for a in anomalies._rows))
    assert not anomalies.rca_button.isEnabled()
    shown = [anomalies._rows[anomalies.table.source_row(n)].metric
             for n in range(anomalies.table.rowCount())]  # fmt: skip
    row = shown.index("ptp_clock_state")
    anomalies.table.selectRow(row)
    assert anomalies.rca_button.isEnabled()
    qtbot.mouseClick(anomalies.rca_button, Qt.MouseButton.LeftButton)
    incidents = window.page("incidents")
    run_until(qtbot, lambda: incidents.rca.ranking.rowCount() > 0, timeout=20)
    assert window.stack.currentWidget() is incidents
    assert incidents.rca.ranking.item(0, 1).text() == "ran-east du-2/ens1f0"  # type: ignore[union-attr]
    assert incidents.rca.summary.text().startswith("Root cause analysis of ran-east at ")


def test_logs_of_an_alert_and_an_anomaly(sample_desktop: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    """From the Alerts and Anomalies pages to the Logs page, on what the first alert or the
    anomaly names, in its window (the sample capture recorded no logs: it says so)."""
    from datetime import UTC, datetime

    from aiops_desktop.models import AlertSeverity, AlertState
    from aiops_desktop.models.alerts import Alert
    from aiops_desktop.models.enums import GroupBy
    from aiops_desktop.services.queries.alerts import group_alerts

    window = sample_desktop.window
    window.show_view("alerts")
    alerts = window.page("alerts")
    firing = Alert(fingerprint="f1", cluster="ran-east", name="KubePodCrashLooping",
                   severity=AlertSeverity.WARNING, state=AlertState.FIRING,
                   labels={"namespace": "ran-du", "pod": "du-l1-0"},
                   starts_at=datetime(2026, 12, 4, 20, 50, tzinfo=UTC))  # fmt: skip
    alerts.show_groups(group_alerts([firing], GroupBy.ALERTNAME))
    assert not alerts.logs_button.isEnabled()
    alerts.table.selectRow(0)
    assert alerts.logs_button.isEnabled()
    qtbot.mouseClick(alerts.logs_button, Qt.MouseButton.LeftButton)
    logs = window.logs
    assert window.stack.currentWidget() is logs
    assert logs.editor.text() == '{k8s_namespace_name="ran-du", k8s_pod_name="du-l1-0"}'
    assert logs.time_range.current.label == "2026-12-04 20:35 UTC to 2026-12-04 20:55 UTC"
    # the sample capture recorded no logs: said so, not "0 lines" (none is not none there)
    run_until(qtbot, lambda: "the capture recorded no logs" in logs.error.text())
    assert logs.status.text() == "no lines: the query failed"
    window.show_view("anomalies")
    anomalies = window.page("anomalies")
    run_until(qtbot, lambda: anomalies.table.rowCount() > 0, timeout=20)
    anomalies.table.selectRow(0)
    qtbot.mouseClick(anomalies.logs_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is logs and logs.editor.text().startswith("{k8s_")
    window.show_view("fleet")


def test_why_an_incident_is_open_again_and_how_many_are_not_listed(
    sample_desktop: DesktopApp, qtbot
) -> None:  # type: ignore[no-untyped-def]
    """An incident reopened by a new, worse signal said why nowhere on the page, and the
    incidents past the store's limit were left out of the list silently."""
    window = sample_desktop.window
    window.show_view("incidents")
    view = window.page("incidents")
    run_until(qtbot, lambda: bool(view._all), timeout=20)
    because = "open again: CRITICAL ran-east: gpu-1/gpu3: XID 79 began after the acknowledgement"
    first = view._all[0].model_copy(update={"reopened_because": because})
    view.show_rows([first, *view._all[1:]], 7)
    assert view.title.text().endswith(" · 7 less pressing not listed")
    row = next(r for r in range(view.table.rowCount())
               if view._rows[view.table.source_row(r)].id == first.id)  # fmt: skip
    state = view.table.item(row, 1)
    assert state is not None and state.toolTip() == because
