"""A dashboard shows the range chosen, all of it and only the cluster shown: a range longer
than the live buffers hold for the cluster (720 points: 3 h at a hub's 15 s) is read from the
cache; every chart's time axis spans the range (hours without data are shown empty); an
absolute span opens on the app's now (a capture's end); an analysis line is the cluster
shown's; and the Details tab keeps the endpoint row selected across its refreshes."""

from __future__ import annotations

import datetime as dt
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from aiops_desktop.app import DesktopApp
from aiops_desktop.models import Cluster, ClusterKind, ClusterType, Endpoint, EndpointKind
from aiops_desktop.models.time_range import TimeRange
from aiops_desktop.services.polling.live import DEFAULT_CAPACITY, LiveBuffers
from aiops_desktop.store.series import SeriesBatch
from tests.ui.conftest import run_coro, run_until
from ui.views.time_range import ABSOLUTE, TimeRangeBar

pytestmark = pytest.mark.qt

HOUR = 3600.0


def _first_x(chart) -> float | None:  # type: ignore[no-untyped-def]
    curves = list(chart._curves.values())
    xs = curves[0].getData()[0] if curves else None
    return None if xs is None or not len(xs) else float(xs[0])


def test_a_hubs_6_h_is_read_from_the_cache_past_what_its_buffers_hold(
    desktop: DesktopApp, qtbot
) -> None:  # type: ignore[no-untyped-def]
    """Six hours of a hub's 15 s polls: its buffers keep the last 720 points (3 h), the
    cache all six; "6 h" shows all six, "1 h" is still drawn from the buffers."""
    core, window = desktop.core, desktop.window
    panel = next(p for p in core.catalog if p.id == "node_cpu")
    now = time.time() // 15 * 15
    ts = np.arange(now - 6 * HOUR, now + 1, 15.0)
    values = 40 + 10 * np.sin(ts / HOUR)
    core.live.append("hub-1", panel.id, {"instance": "n1"}, ts, values)
    batch = SeriesBatch("hub-1", panel.id, {"instance": "n1"}, (ts * 1000).astype(np.int64),
                        values)  # fmt: skip
    core.series.append([batch]).result()
    core.series.flush().result()
    window.show_cluster("hub-1")
    chart, presenter = window.dashboard.charts[panel.id], desktop.presenters.dashboard
    run_until(qtbot, lambda: (x := _first_x(chart)) is not None and now - x < 1.01 * HOUR)
    assert not presenter.from_store  # 1 h: the live buffers
    window.dashboard.select_range("6 h")
    assert presenter.from_store
    run_until(qtbot, lambda: (x := _first_x(chart)) is not None and now - x > 5.9 * HOUR, 20)


def test_the_live_span_is_the_buffers_capacity_at_the_clusters_step(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Before its buffers are full (an hour backfilled at start), a hub's 6 h is still read
    from the cache (720 x 15 s = 3 h); a spoke's buffers hold 6 h at 30 s; a hub's member is
    polled at its hub's step."""
    from aiops_desktop.services.polling.catalog import load_catalog
    from aiops_desktop.services.runtime.bus import EventBus
    from aiops_desktop.services.runtime.supervisor import TaskSupervisor
    from tests.qtfree.test_fleet_truth_failures import Poller, Registry
    from ui.presenters.dashboard import DashboardPresenter

    def registered(name: str, kind: ClusterType, members: tuple[str, ...] = ()) -> Cluster:
        fleet = ClusterKind.FLEET if members else ClusterKind.CLUSTER
        made = Cluster(name=name, cluster_type=kind, kind=fleet,
                       endpoints=[Endpoint(kind=EndpointKind.PROMETHEUS,
                                           url=f"http://{name}.invalid:9090")])  # fmt: skip
        made.status.members = list(members)
        return made

    registry = Registry([registered("hub-1", ClusterType.HUB, ("site-1",)),
                         registered("spoke-1", ClusterType.SPOKE)])  # fmt: skip
    presenter = DashboardPresenter(
        registry=registry, poller=Poller(), live=LiveBuffers(), anomalies=None,  # type: ignore[arg-type]
        catalog=load_catalog(), bus=EventBus(), tasks=TaskSupervisor(), history=object(),  # type: ignore[arg-type]
    )  # fmt: skip
    assert DEFAULT_CAPACITY * 15 < 6 * HOUR <= DEFAULT_CAPACITY * 30
    stored = {}
    for name in ("hub-1", "site-1", "spoke-1"):
        presenter.cluster = name
        for label in ("1 h", "6 h"):
            presenter.range = TimeRange.preset(label)
            stored[name, label] = presenter.from_store
    assert stored == {("hub-1", "1 h"): False, ("hub-1", "6 h"): True,
                      ("site-1", "1 h"): False, ("site-1", "6 h"): True,
                      ("spoke-1", "1 h"): False, ("spoke-1", "6 h"): False}  # fmt: skip
    presenter.close()
    presenter.deleteLater()


def test_the_analysis_line_is_the_cluster_shown(sample_desktop: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    """One cluster's analysis result is gone from the next cluster's dashboard, and an
    analysis still running for it writes nothing there."""
    w = sample_desktop.window
    w.show_cluster("ran-east")
    d = w.dashboard
    d.sig_analyse_history.emit(["gpu_temperature"])
    run_until(
        qtbot, lambda: "anomal" in d.analysis.text() and "analysing" not in d.analysis.text(), 30
    )
    w.show_cluster("ai-lab")
    assert d.analysis.text() == ""
    w.show_cluster("ran-east")
    d.sig_analyse_history.emit(None)  # every panel: still running when ai-lab is shown
    run_until(qtbot, lambda: "analysing" in d.analysis.text())
    w.show_cluster("ai-lab")
    qtbot.wait(2000)
    assert d.analysis.text() == ""


def test_absolute_opens_on_the_bars_clock(qtbot) -> None:  # type: ignore[no-untyped-def]
    then = datetime(2026, 3, 1, 12, 0, 40, tzinfo=UTC)
    bar = TimeRangeBar("1 h", clock=lambda: then)
    qtbot.addWidget(bar)
    bar.range.setCurrentText(ABSOLUTE)
    shown = (bar.start.dateTime().toSecsSinceEpoch(), bar.end.dateTime().toSecsSinceEpoch())
    end = then.replace(second=0)
    assert shown == (int((end - timedelta(hours=1)).timestamp()), int(end.timestamp()))


def test_absolute_in_a_capture_opens_on_its_end(
    sample_desktop: DesktopApp, qtbot, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A capture opened two days after it was taken: "Absolute…" opens on its last hour (its
    now), and Show draws what the range shown before drew."""
    import ui.views.time_range as tr

    class Later(dt.datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def,override]
            return dt.datetime.now(tz) + dt.timedelta(days=2)

    monkeypatch.setattr(tr, "datetime", Later)
    w = sample_desktop.window
    w.show_cluster("ran-east")
    d = w.dashboard
    run_until(qtbot, lambda: sum(not c.empty for c in d.charts.values()) >= 5)
    drawn = sum(not c.empty for c in d.charts.values())
    end = sample_desktop.presenters.dashboard.now().replace(second=0, microsecond=0)
    d.time_range.range.setCurrentText(ABSOLUTE)
    assert d.time_range.end.dateTime().toSecsSinceEpoch() == int(end.timestamp())
    d.time_range.apply.click()
    run_until(qtbot, lambda: sum(not c.empty for c in d.charts.values()) >= drawn - 1, 20)


def test_charts_span_the_range_chosen_and_keep_the_users_zoom(
    sample_desktop: DesktopApp, qtbot
) -> None:  # type: ignore[no-untyped-def]
    w = sample_desktop.window
    w.show_cluster("ran-east")
    d, p = w.dashboard, sample_desktop.presenters.dashboard
    chart = d.charts["gpu_temperature"]
    run_until(qtbot, lambda: not chart.empty)

    def span() -> tuple[float, float]:
        (x0, x1), _ = chart.getPlotItem().vb.viewRange()
        return x0, x1

    start, end = p._bounds()
    assert span() == pytest.approx((start, end), abs=60)  # "1 h", to the capture's now
    d.select_range("24 h")
    run_until(qtbot, lambda: span()[1] - span()[0] > 0.99 * 24 * HOUR, 20)
    assert span()[1] == pytest.approx(p.now().timestamp(), abs=60)
    # the user zooms in (the mouse wheel): the next update keeps it; another range does not
    vb = chart.getPlotItem().vb
    vb.setXRange(end - 600, end, padding=0)
    vb.sigRangeChangedManually.emit(vb.state["mouseEnabled"])
    chart.set_span(start - 60, end - 60)
    assert span() == pytest.approx((end - 600, end), abs=1)
    d.select_range("6 h")
    run_until(qtbot, lambda: abs(span()[1] - span()[0] - 6 * HOUR) < 120, 20)


def test_the_details_tab_keeps_the_row_selected(sample_desktop: DesktopApp, qtbot, theme) -> None:  # type: ignore[no-untyped-def]
    w, core = sample_desktop.window, sample_desktop.core
    run_until(qtbot, lambda: w.truth is not None)
    w.show_cluster("ran-hub")
    w.cluster_page.setCurrentWidget(w.overview)
    table = w.overview.endpoints
    run_until(qtbot, lambda: table.rowCount() >= 1)
    table.selectRow(0)
    run_coro(qtbot, core.fleet.refresh())  # the minute's refresh
    qtbot.wait(200)
    assert table.selected_rows() == [0]

    # a row that changed (its check went down) stays selected by its kind; another
    # cluster's rows start unselected
    from ui.views.cluster_overview import ClusterOverviewView

    view = ClusterOverviewView(theme)
    qtbot.addWidget(view)
    urls = {EndpointKind.PROMETHEUS: "http://p.invalid:9090",
            EndpointKind.LOKI: "http://l.invalid:3100"}  # fmt: skip
    east = Cluster(name="east", api_server_url="https://east.invalid:6443",
                   endpoints=[Endpoint(kind=k, url=u) for k, u in urls.items()])  # fmt: skip
    view.show_cluster(east)
    view.endpoints.selectRow(1)
    kind = view.endpoints.item(1, 0).text()  # type: ignore[union-attr]
    east.status.endpoint_health[EndpointKind.API_SERVER] = False
    view.show_cluster(east)
    assert view.endpoints.item(0, 4).text() == "DOWN"  # type: ignore[union-attr]
    assert [view.endpoints.item(r, 0).text() for r in view.endpoints.selected_rows()] == [kind]  # type: ignore[union-attr]
    view.show_cluster(east.model_copy(update={"name": "west"}))
    assert view.endpoints.selected_rows() == []
