"""The Logs and Traces pages over the Loki/Tempo stand-in (the Train Ticket day): the jump from
an anomaly's pod to its logs in that window (the volume histogram, level colours, filter as you
type), label completion, the live tail with pause, a line's trace id to the trace (its span
waterfall with errors marked, the service graph), and a trace search for failing traces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aiops_desktop.app import DesktopApp
from aiops_desktop.models import ClusterKind, EndpointKind
from aiops_desktop.models.observability import trace_id_in
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.qt_boot import save_screenshot
from tests.servers.loki_tempo import RunningLokiTempo
from tests.ui.conftest import run_coro, run_until
from tests.ui.references import check_against_reference

pytestmark = pytest.mark.integration
FAULT_AT = datetime(2023, 1, 29, 8, 43, 4, tzinfo=UTC)
FAULT_POD = "ts-contacts-service-866bd68c97-xcqfx"


@pytest.fixture
def lab(desktop: DesktopApp, qtbot, loki_tempo: RunningLokiTempo) -> DesktopApp:  # type: ignore[no-untyped-def]
    urls = {EndpointKind.LOKI: loki_tempo.url, EndpointKind.TEMPO: loki_tempo.url}
    spec = ClusterSpec(name="lab", kind=ClusterKind.CLUSTER, endpoint_urls=urls)
    run_coro(qtbot, desktop.core.registry.add(spec))
    return desktop


def test_from_a_pod_to_its_logs_and_from_a_line_to_its_trace(
    lab: DesktopApp, qtbot, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window = lab.window
    window.open_logs("lab", {"namespace": "train-ticket", "pod": FAULT_POD},
                     (FAULT_AT + timedelta(minutes=5)).timestamp())  # fmt: skip
    logs = window.logs
    assert FAULT_POD in logs.editor.text()
    run_until(qtbot, lambda: logs.table.rowCount() > 0, timeout=20)
    run_until(qtbot, lambda: logs._bars is not None, timeout=20)
    shown = logs.table.rowCount()
    assert "lines shown" in logs.status.text() or "line shown" in logs.status.text()
    assert all(logs.table.item(r, 1).text() == FAULT_POD for r in range(min(shown, 50)))
    errors = [r for r in range(shown) if logs.table.item(r, 2).text() == "error"]
    assert errors  # the injected fault's error lines, in the error colour
    logs.filter.setText("ERROR")  # as you type: only the error lines stay
    run_until(qtbot, lambda: logs.table.rowCount() == len(errors))
    shot = save_screenshot(window, tmp_path / "logs.png")
    check_against_reference(shot, "logs_explorer.png", tolerance=14.0)

    line = logs.table.item(0, 3).text()
    trace_id = trace_id_in(line)
    assert trace_id
    logs.table.cellDoubleClicked.emit(0, 3)  # a line that names its trace opens it
    traces = window.traces
    assert window.stack.currentWidget() is traces
    run_until(qtbot, lambda: bool(traces.waterfall.rows), timeout=20)
    assert traces.heading.text().startswith(f"Trace {trace_id} · ")
    failed = [s for _, s in traces.waterfall.rows if s.status.value == "ERROR"]
    contacts = [s for s in failed if s.service_name == "ts-contacts-service"]
    assert contacts and "No contacts" in traces.waterfall.tip(contacts[0])
    shot = save_screenshot(window, tmp_path / "waterfall.png")
    check_against_reference(shot, "trace_waterfall.png", tolerance=14.0)
    traces.tabs.setCurrentIndex(1)
    graph = traces.graph
    assert "ts-gateway-service" in graph.services and "ts-contacts-service" in graph.failing
    assert any(called == "ts-contacts-service" and failed_calls
               for (_, called), (_, failed_calls) in graph.calls.items())  # fmt: skip
    shot = save_screenshot(window, tmp_path / "graph.png")
    check_against_reference(shot, "service_graph.png", tolerance=14.0)
    window.show_view("fleet")


def test_the_live_tail_pauses_and_the_editor_completes_labels(lab: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = lab.window
    window.show_view("logs")
    logs = window.logs
    logs.cluster.setCurrentText("lab")
    logs.editor.setText('{service_name="ts-contacts-service"}')
    logs.time_range.show_span(FAULT_AT, FAULT_AT + timedelta(minutes=10))
    logs.tail_button.setChecked(True)  # replays the day from the range's start, live
    run_until(qtbot, lambda: logs.table.rowCount() >= 100, timeout=30)
    assert logs.status.text().startswith("live: ")
    stamps = [logs.table.item(r, 0).text() for r in range(logs.table.rowCount())]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    logs.pause_button.setChecked(True)
    run_until(qtbot, lambda: "paused" in logs.status.text())
    held = logs.table.rowCount()
    qtbot.wait(600)
    assert logs.table.rowCount() == held  # paused: counted, not shown
    logs.tail_button.setChecked(False)
    assert not window.presenters.logs.tailing

    logs.editor.setText("{serv")
    logs.editor.setCursorPosition(5)
    logs.editor.textEdited.emit("{serv")
    run_until(qtbot, lambda: "service_name" in logs.completions.stringList(), timeout=10)
    logs._insert_completion("service_name")
    assert logs.editor.text() == '{service_name="'
    window.show_view("fleet")


def test_a_search_for_a_services_failing_traces(lab: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = lab.window
    window.show_view("traces")
    traces = window.traces
    traces.search_for("lab", "ts-contacts-service", FAULT_AT, FAULT_AT + timedelta(minutes=10),
                      errors=True)  # fmt: skip
    run_until(qtbot, lambda: traces.table.rowCount() > 0, timeout=20)
    assert traces.table.item(0, 3).text() == "ts-gateway-service"
    run_until(qtbot, lambda: bool(traces.graph.failing), timeout=20)  # the first is opened
    assert "ts-contacts-service" in traces.graph.failing
    window.show_view("fleet")


def test_from_a_root_cause_to_its_error_logs_and_failing_traces(lab: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    """RCA at basic-service's fault reads the lab's logs and traces; the ranked pod's error
    lines are quoted, and its buttons open its error logs and its service's failing traces."""
    window = lab.window
    injected = datetime(2023, 1, 29, 9, 3, 53, tzinfo=UTC)
    window.analyse_at("lab", (injected + timedelta(minutes=5)).timestamp())
    rca = window.page("incidents").rca  # type: ignore[attr-defined]
    run_until(qtbot, lambda: rca.ranking.rowCount() > 0, timeout=30)
    rows = [rca.ranking.item(r, 1).text() for r in range(rca.ranking.rowCount())]
    basic = next(r for r, entity in enumerate(rows) if "ts-basic-service" in entity)
    assert basic < 3
    assert "Its error lines:" in rca.ranking.item(basic, 1).toolTip()
    assert not rca.traces_button.isEnabled()
    rca.ranking.selectRow(basic)
    assert rca.logs_button.isEnabled() and rca.traces_button.isEnabled()
    rca.traces_button.click()
    traces = window.traces
    assert window.stack.currentWidget() is traces and traces.errors.isChecked()
    assert traces.service.text() == "ts-basic-service"
    run_until(qtbot, lambda: traces.table.rowCount() > 0, timeout=20)
    window.show_view("incidents")
    rca.logs_button.click()
    logs = window.logs
    assert 'k8s_pod_name="ts-basic-service-5dc8d4f9fd-46997"' in logs.editor.text()
    run_until(qtbot, lambda: logs.table.rowCount() > 0, timeout=20)
    assert {logs.table.item(r, 2).text() for r in range(logs.table.rowCount())} == {"error"}
    window.show_view("fleet")


def test_a_cluster_with_loki_and_tempo_charts_its_errors_on_its_dashboard(
    lab: DesktopApp, qtbot, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The polled error signals are charted where they are read: the Loki/Tempo cluster's
    dashboard has them (and its logs and traces sources poll without error), a cluster with
    Prometheus alone does not. Polled as of the Train Ticket day, the fault pod's error lines
    and failed spans are drawn from the cache over that half hour."""
    from aiops_desktop.services.polling.poller import Poller
    from ui.charts import LEGEND_MOST

    spec = ClusterSpec(name="plain", endpoint_urls={EndpointKind.PROMETHEUS: "http://127.0.0.1:9"})
    run_coro(qtbot, lab.core.registry.add(spec))
    core = lab.core
    run_coro(qtbot, core.poller.poll_once([core.registry.get("lab")]))
    for source in ("logs", "traces"):
        assert core.poller.status[("lab", source)].last_error is None
    dashboard = lab.presenters.dashboard
    dashboard.show_cluster("plain")
    errors = {"error_log_lines", "error_spans", "span_p99"}
    assert not errors & {p.id for p in dashboard.panels}
    assert "node_cpu" in {p.id for p in dashboard.panels}
    kube_only = ClusterSpec(name="kube-only", api_server_url="https://127.0.0.1:9")
    run_coro(qtbot, core.registry.add(kube_only))
    lab.window.show_cluster("kube-only")  # nothing to chart: said, not fourteen empty charts
    assert dashboard.panels == [] and not lab.window.dashboard.no_charts.isHidden()

    replay = Poller(core.registry, core.pool, series=core.series, live=core.live, bus=core.bus,
                    supervisor=core.supervisor, catalog=core.catalog,
                    clock=lambda: datetime(2023, 1, 29, 9, 10, 30, tzinfo=UTC))  # fmt: skip
    run_coro(qtbot, replay.poll_once([core.registry.get("lab")]))
    core.series.flush().result()
    window = lab.window
    window.show_cluster("lab")
    assert [p.id for p in dashboard.panels] == ["error_log_lines", "error_spans", "span_p99"]
    view = window.dashboard
    view.time_range.show_span(datetime(2023, 1, 29, 8, 40, tzinfo=UTC),
                              datetime(2023, 1, 29, 9, 10, tzinfo=UTC))  # fmt: skip
    chart = view.charts["error_log_lines"]
    run_until(qtbot, lambda: chart.curve_count > 5, timeout=20)
    assert FAULT_POD in chart._curves
    run_until(qtbot, lambda: view.charts["error_spans"].curve_count > 0, timeout=20)
    run_until(qtbot, lambda: bool(view.charts["span_p99"].legend_names), timeout=20)
    assert len(view.charts["span_p99"].legend_names) == LEGEND_MOST  # the slowest named
    qtbot.wait(300)  # the charts' first paint
    shot = save_screenshot(window, tmp_path / "dashboard_errors.png")
    check_against_reference(shot, "dashboard_errors.png", tolerance=14.0)
    window.show_view("fleet")


def test_the_tail_shows_at_most_its_rate_keeps_two_seconds_waiting_and_the_newest_rows(
    desktop: DesktopApp, qtbot
) -> None:  # type: ignore[no-untyped-def]
    """A burst faster than the page shows: two seconds' worth waits (the oldest beyond it are
    counted as skipped, so the page stays near now), each tick shows at most its share of
    TAIL_MAX_RATE lines a second, a paused tail counts without showing, and the table keeps
    the newest TAIL_KEPT lines, newest first."""
    from aiops_desktop.models.observability import LogEntry
    from ui.presenters.logs_traces import TAIL_FLUSH_MS, TAIL_MAX_RATE, TailState
    from ui.views.logs_view import TAIL_KEPT

    presenter, view = desktop.presenters.logs, desktop.window.logs
    presenter.tail_state = TailState()
    shown: list[list[LogEntry]] = []
    presenter.sig_tail_lines.connect(shown.append)
    t0 = 1_674_982_800 * 10**9

    def burst(n: int, first: int = 0) -> list[LogEntry]:
        return [LogEntry(cluster="lab", timestamp_ns=t0 + (first + i) * 10**6,
                         line=f"line {first + i}", labels={"k8s_pod_name": "p-0"})
                for i in range(n)]  # fmt: skip

    presenter._take(burst(3000), 7, "")
    assert len(presenter._pending) == 2 * TAIL_MAX_RATE
    assert presenter.tail_state.skipped == 3000 - 2 * TAIL_MAX_RATE
    assert presenter.tail_state.dropped == 7
    assert presenter._pending[0].line == f"line {3000 - 2 * TAIL_MAX_RATE}"  # the newest wait
    presenter._flush_tail()
    per_tick = TAIL_MAX_RATE * TAIL_FLUSH_MS // 1000
    assert [len(b) for b in shown] == [per_tick] and presenter.tail_state.shown == per_tick
    presenter.pause_tail(True)
    presenter._take(burst(10, 5000), 0, "")
    presenter._flush_tail()
    assert len(shown) == 1 and presenter.tail_state.skipped == 3000 - 2 * TAIL_MAX_RATE + 10
    presenter.pause_tail(False)

    for n in range(5):  # more lines than the table keeps
        view.show_tail_lines(burst(500, n * 500))
    assert view.table.rowCount() == TAIL_KEPT
    assert view._entries[0].line == "line 2499" and view._entries[-1].line == "line 500"
