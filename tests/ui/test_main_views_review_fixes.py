"""The dashboard and fleet views show each cluster's own data: two series whose legends read
the same are both drawn and named apart, a reused fleet tile draws its own cluster's
sparkline, another cluster's dashboard never shows the last one's lines while its range is
read, and the crosshair reads no series that had ended or had no value at the cursor."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
from pytestqt.qtbot import QtBot

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.anomalies import AnomalyMarker
from aiops_desktop.models.fleet import TileModel
from aiops_desktop.models.time_range import TimeRange
from aiops_desktop.services.polling.catalog import load_catalog
from aiops_desktop.services.polling.live import LiveBuffers
from ui import charts
from ui.charts import TimeSeriesChart
from ui.presenters.dashboard import DashboardPresenter
from ui.theme import Theme
from ui.views.dashboard_view import DashboardView
from ui.views.fleet_view import FleetView

NOW = 1.7e9
PANELS = {p.id: p for p in load_catalog()}


class _Registry:
    """Clusters with every endpoint kind (their dashboards show Loki's and Tempo's panels)."""

    def clusters(self) -> list[object]:
        kinds = [SimpleNamespace(kind=kind) for kind in EndpointKind]
        return [SimpleNamespace(name=name, endpoints=kinds, check_interval_s=30)
                for name in ("c1", "cluster-a", "cluster-b")]  # fmt: skip

    def hub_of(self, name: str) -> None:
        return None


class _Poller:
    unsupported: ClassVar[set[object]] = set()
    status: ClassVar[dict[object, object]] = {}
    member_seen: ClassVar[dict[object, object]] = {}


class _Anomalies:
    @staticmethod
    def clock() -> datetime:
        return datetime.fromtimestamp(NOW, UTC)

    def for_panel(self, cluster: str, panel: str) -> list[object]:
        return []

    async def load_stored(self, cluster: str) -> None:
        return None


class _Bus:
    def subscribe(self, topic: object, callback: object) -> object:
        return lambda: None


class _Done:
    def add_done_callback(self, callback: Any) -> None:
        callback(self)


class _Pending:
    """Work spawned stays in flight (a cache read that has not answered yet)."""

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> _Done:
        coro.close()
        return _Done()


class _RunAtOnce:
    """Work spawned runs to its end before spawn returns (on a loop of its own)."""

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> _Done:
        asyncio.run(coro)
        return _Done()


class _History:
    """The cache: what ``read`` answers per panel, or the error it raises."""

    def __init__(self, found: dict[str, list[tuple[dict[str, str], np.ndarray, np.ndarray]]],
                 error: Exception | None = None) -> None:  # fmt: skip
        self.found = found
        self.error = error

    def read(self, cluster: str, panel: str, start: datetime, end: datetime) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        return {str(i): item for i, item in enumerate(self.found.get(panel, []))}


def _presenter(live: LiveBuffers, tasks: object, history: object = None,
               panels: list[str] | None = None) -> DashboardPresenter:  # fmt: skip
    catalog = [PANELS[p] for p in panels] if panels else list(PANELS.values())[:3]
    return DashboardPresenter(registry=_Registry(), poller=_Poller(), live=live,  # type: ignore[arg-type]
                              anomalies=_Anomalies(), catalog=catalog, bus=_Bus(),  # type: ignore[arg-type]
                              tasks=tasks, history=history)  # type: ignore[arg-type]  # fmt: skip


TS = np.arange(NOW - 600, NOW, 60.0)
SAME_LEGEND = {  # panel -> (labels, value): their legends ({pod}) read the same
    "error_spans": [
        ({"service": "checkout", "namespace": "shop"}, 40.0),  # failing hard, no pod label
        ({"service": "payment", "namespace": "shop"}, 0.1),
        ({"service": "auth", "namespace": "idp"}, 0.0),
    ],
    "error_log_lines": [
        ({"namespace": "prod", "pod": "db-0"}, 900.0),  # prod's database screaming
        ({"namespace": "staging", "pod": "db-0"}, 1.0),
    ],
}


def _peaks(series: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    return {name: float(values.max()) for name, (_ts, values) in series.items()}


def _expected_peaks() -> dict[str, dict[str, float]]:
    return {
        "error_spans": {
            '? {namespace="shop", service="checkout"}': 40.0,
            '? {namespace="shop", service="payment"}': 0.1,
            '? {namespace="idp", service="auth"}': 0.0,
        },
        "error_log_lines": {'db-0 {namespace="prod"}': 900.0, 'db-0 {namespace="staging"}': 1.0},
    }


def test_live_series_with_the_same_legend_are_all_drawn_and_named_apart() -> None:
    live = LiveBuffers()
    for panel, items in SAME_LEGEND.items():
        for labels, value in items:
            live.append("c1", panel, labels, TS, np.full(TS.size, value))
        live.append("c1", panel, {"pod": "web-1", "namespace": "shop"}, TS, np.full(TS.size, 2.0))
    p = _presenter(live, _Pending(), panels=list(SAME_LEGEND))
    p.cluster = "c1"
    for panel, expected in _expected_peaks().items():
        shown = _peaks(p.panel_series(PANELS[panel]))
        assert shown == {**expected, "web-1": 2.0}, panel  # a legend alone stays as it was


def test_stored_series_with_the_same_legend_are_all_drawn_and_named_apart(qtbot: QtBot) -> None:
    found = {
        panel: [(labels, TS, np.full(TS.size, value)) for labels, value in items]
        for panel, items in SAME_LEGEND.items()
    }
    p = _presenter(LiveBuffers(), _RunAtOnce(), _History(found), panels=list(SAME_LEGEND))
    drawn: list[tuple[str, dict[str, float]]] = []
    p.sig_panel_data.connect(lambda panel, series, *_span: drawn.append((panel, _peaks(series))))
    p.set_range(TimeRange.preset("24 h"))
    p.show_cluster("c1")
    p.close()
    assert drawn == list(_expected_peaks().items())  # each panel once: the cache read once


def _tile(name: str, state: str, values: np.ndarray) -> TileModel:
    ts = np.arange(0, 600, 30.0) + NOW  # hub members are polled together: the same stamps
    return TileModel(name=name, title=name, state=state, health_score=None, alerts={},
                     spark=(ts, values), spark_title="CPU usage", freshness="data 5 s ago",
                     stale=False)  # fmt: skip


def test_a_reused_fleet_tile_draws_its_own_clusters_sparkline(qtbot: QtBot, theme: Theme) -> None:
    busy = np.full(20, 95.0)
    busy[-1] = 99.0
    idle = np.linspace(1, 5, 20)
    view = FleetView(theme)
    qtbot.addWidget(view)
    view.show_tiles([_tile("site-a", "OK", busy), _tile("site-b", "OK", idle)])
    # site-b turns DEGRADED and moves first (worst first): the two tiles swap clusters
    view.show_tiles([_tile("site-b", "DEGRADED", idle), _tile("site-a", "OK", busy)])
    first, second = view.tiles
    assert first.title.text() == "site-b" and np.array_equal(first.spark._y, idle)
    assert second.title.text() == "site-a" and np.array_equal(second.spark._y, busy)


def _dashboard(qtbot: QtBot, theme: Theme, p: DashboardPresenter) -> DashboardView:
    view = DashboardView(theme)
    qtbot.addWidget(view)
    p.sig_panels.connect(view.set_panels)
    p.sig_panel_data.connect(view.show_panel)
    p.sig_panel_anomalies.connect(view.show_panel_anomalies)
    p.sig_analysis.connect(view.show_analysis)
    return view


def test_another_cluster_on_a_stored_range_never_shows_the_last_ones_charts(
    qtbot: QtBot, theme: Theme
) -> None:
    p = _presenter(LiveBuffers(), _Pending(), history=object())  # the read is in flight
    view = _dashboard(qtbot, theme, p)
    p.set_range(TimeRange.preset("24 h"))
    p.show_cluster("cluster-a")
    first = next(iter(view.charts))
    chart = view.charts[first]
    assert chart.empty and chart.empty_text == charts.READING  # not "no data": it is being read
    view.show_panel(first, {"node-a1": (TS, np.full(TS.size, 99.0))})  # A's stored data
    view.show_panel_anomalies(first, [AnomalyMarker(TS[3], 99.0, "critical", "A's spike")])
    assert chart.curve_count == 1 and chart.empty_text == charts.NO_DATA
    p.show_cluster("cluster-b")  # the user opens B: its read is in flight
    assert chart.curve_count == 0 and not chart.anomaly_markers
    assert chart.empty and chart.empty_text == charts.READING
    p.close()


def test_a_failed_stored_read_says_so_and_leaves_no_lines(qtbot: QtBot, theme: Theme) -> None:
    p = _presenter(LiveBuffers(), _RunAtOnce(), _History({}, OSError("cache locked")))
    view = _dashboard(qtbot, theme, p)
    p.set_range(TimeRange.preset("7 d"))
    p.show_cluster("cluster-b")
    assert all(c.empty and c.empty_text == charts.NO_DATA for c in view.charts.values())
    assert "cache locked" in view.analysis.text()
    p.close()


def test_the_crosshair_reads_no_series_that_ended_or_has_no_value_there(
    qtbot: QtBot, theme: Theme
) -> None:
    chart = TimeSeriesChart("CPU", "%", theme)
    qtbot.addWidget(chart)
    step = 30.0
    alive = np.arange(NOW - 3600, NOW + 1, step)
    dead = np.arange(NOW - 3600, NOW - 3000, step)  # pod-old: gone 50 minutes ago
    gappy = np.full(alive.size, 50.0)
    gappy[60:70] = np.nan  # no value for five minutes
    # a week's series: 5-minute rollups, then raw samples every 15 s (the seam mid-chart)
    rolled = np.concatenate([np.arange(NOW - 7200, NOW - 3600, 300.0),
                             np.arange(NOW - 3600, NOW + 1, 15.0)])  # fmt: skip
    chart.set_series({
        "pod-new": (alive, np.full(alive.size, 10.0)),
        "pod-old": (dead, np.full(dead.size, 97.0)),
        "pod-gap": (alive, gappy),
        "rolled": (rolled, np.full(rolled.size, 3.0)),
    })  # fmt: skip
    assert chart.readout_at(NOW) == [("pod-gap", 50.0), ("pod-new", 10.0), ("rolled", 3.0)]
    inside_gap = alive[65] + 5
    assert chart.readout_at(inside_gap) == [("pod-new", 10.0), ("rolled", 3.0)]
    # just after pod-old's last sample it is still read; in the rollups' hours every series
    # is read between its samples five minutes apart
    assert dict(chart.readout_at(dead[-1] + step))["pod-old"] == 97.0
    assert set(dict(chart.readout_at(NOW - 3700))) == {"rolled"}
    assert set(dict(chart.readout_at(NOW - 3590))) == {"pod-new", "pod-old", "pod-gap", "rolled"}
