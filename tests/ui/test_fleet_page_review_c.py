"""The Fleet page tells what the fleet's one truth says: a hub that never answered (no member
known) is its own OFFLINE tile, not gone; a hub member's tile says how old its hub's newest
sample is and keeps its health score beside its hub; a sparkline follows the newest samples
though one series stopped with a full buffer; outside text is one line on a tile."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from aiops_desktop.models import AlertSeverity
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.fleet import Domain, Finding, FindingSeverity
from aiops_desktop.models.polling import Source
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.qtfree.test_fleet_truth_failures import T0, Wall, cluster, make_wall, polled
from ui.presenters.fleet import FleetPresenter, mean_series
from ui.theme import Theme
from ui.views.fleet_view import FleetView

pytestmark = pytest.mark.qt


def _presenter(w: Wall) -> FleetPresenter:
    return FleetPresenter(
        registry=w.wall.registry,
        fleet=w.fleet, live=LiveBuffers(), catalog=[], tasks=TaskSupervisor(),
        poller=w.poller,  # type: ignore[arg-type]
    )  # fmt: skip


def _view(qtbot: QtBot, theme: Theme, presenter: FleetPresenter) -> FleetView:
    view = FleetView(theme)
    qtbot.addWidget(view)
    view.show_tiles(presenter.tiles())
    return view


def test_a_hub_that_never_answered_is_an_offline_tile(qtbot: QtBot, theme: Theme) -> None:
    """Wrong URL, or down since the app started: no member known, no finding of its own; the
    truth says OFFLINE, and so does the page (it said "0 clusters · none registered")."""
    w = make_wall([cluster("acm-hub", hub=True)])
    for source in (Source.METRICS, Source.ALERTS):
        polled(w.poller, "acm-hub", source, T0, failing=True)
    presenter = _presenter(w)
    view = _view(qtbot, theme, presenter)
    assert [(t.name, t.state) for t in presenter.tiles()] == [("acm-hub", "OFFLINE")]
    assert view.summary.text().startswith("Fleet · 1 cluster · 1 offline")
    presenter.deleteLater()


def test_a_hub_with_members_is_shown_by_its_members(qtbot: QtBot, theme: Theme) -> None:
    w = make_wall([cluster("acm-hub", hub=True, members=("ran-east",))])
    presenter = _presenter(w)
    assert [t.name for t in presenter.tiles()] == ["ran-east"]
    presenter.deleteLater()


def test_an_answering_hub_serving_no_member_is_not_a_tile(qtbot: QtBot, theme: Theme) -> None:
    """An HA pair sharing ran-east (judged from acm-a: acm-b serves it in no tile) and a hub
    answering with no member yet: neither is a tile of its own (each was one, OK: 3 clusters
    where there is one, and their 100s in the average); a hub with a finding of its own is."""
    xid = Finding(Domain.GPU, FindingSeverity.CRITICAL, "gpu0", "XID 79")
    hubs = [cluster("acm-a", hub=True, members=("ran-east",)),
            cluster("acm-b", hub=True, members=("ran-east",)),
            cluster("acm-c", hub=True), cluster("acm-d", hub=True)]  # fmt: skip
    w = make_wall(hubs, findings={"ran-east": [xid], "acm-d": [xid]})
    w.poller.member_seen = {"acm-a": {"ran-east": T0}, "acm-b": {"ran-east": T0}, "acm-c": {}}
    presenter = _presenter(w)
    view = _view(qtbot, theme, presenter)
    assert [(t.name, t.via_hub) for t in presenter.tiles()] == [
        ("acm-d", None), ("ran-east", "acm-a")]  # fmt: skip
    assert view.summary.text() == "Fleet · 2 clusters · 2 critical · average health 75"
    presenter.deleteLater()


def test_a_members_tile_says_how_old_its_hubs_newest_sample_is(qtbot: QtBot, theme: Theme) -> None:
    """The last poll had ran-east's series (0 s ago), but the hub's newest sample is 20 min
    old (ACM pushes every 30-300 s): the tile says both, as the member's dashboard does."""
    w = make_wall([cluster("acm-hub", hub=True, members=("ran-east",))])
    w.poller.member_seen = {"acm-hub": {"ran-east": T0}}
    w.poller.hub_newest = {"acm-hub": T0 - timedelta(minutes=20)}
    presenter = _presenter(w)
    (tile,) = presenter.tiles()
    assert tile.freshness == "data 0 s ago · the hub's newest sample 20 min ago"
    presenter.deleteLater()


def test_a_members_tile_shows_its_health_score_and_its_hub(qtbot: QtBot, theme: Theme) -> None:
    """Two CRITICAL members, scores 0 and 75, read alike when the hub replaced the score."""
    xid = [Finding(Domain.GPU, FindingSeverity.CRITICAL, f"gpu{n}", "XID 79") for n in range(4)]
    w = make_wall([cluster("acm-hub", hub=True, members=("ran-a", "ran-b"))],
                  findings={"ran-a": xid, "ran-b": xid[:1]})  # fmt: skip
    w.poller.member_seen = {"acm-hub": {"ran-a": T0, "ran-b": T0}}
    presenter = _presenter(w)
    view = _view(qtbot, theme, presenter)
    shown = {t.title.text(): t.score.text() for t in view.tiles}
    scores = {t.name: t.health_score for t in presenter.tiles()}
    assert shown == {name: f"health {scores[name]} · via fleet hub acm-hub"
                     for name in ("ran-a", "ran-b")}  # fmt: skip
    assert scores["ran-a"] != scores["ran-b"]
    presenter.deleteLater()


def test_an_alerts_forged_lines_and_bidi_override_stay_one_line_on_a_tile(
    qtbot: QtBot, theme: Theme
) -> None:
    w = make_wall([cluster("ran-east")])
    summary = "ok\n\n\n\nall good\u202e KO 97 PCB"
    w.poller.alerts["ran-east"] = [Alert(
        fingerprint="f", cluster="ran-east", name="X", severity=AlertSeverity.CRITICAL,
        annotations={"summary": summary}, starts_at=T0)]  # fmt: skip
    presenter = _presenter(w)
    view = _view(qtbot, theme, presenter)
    worst = view.tiles[0].worst.text()
    assert worst == "X: ok all good KO 97 PCB"
    presenter.deleteLater()


def test_a_sparkline_follows_the_newest_samples_when_a_series_stopped() -> None:
    """node-a's exporter stopped an hour ago with a full buffer (720 points, not pruned yet):
    the sparkline was aligned on its timestamps, ended an hour ago and never moved."""
    now, step = 1.7e9, 15.0
    dead = now - 3600 - np.arange(720)[::-1] * step
    alive = now - np.arange(700)[::-1] * step
    series = {"node-a": (dead, np.full(720, 10.0)), "node-b": (alive, np.full(700, 95.0)),
              "node-c": (alive, np.full(700, 95.0))}  # fmt: skip
    found = mean_series(series)
    assert found is not None
    ts, values = found
    assert ts[-1] == now and values[-1] == 95.0  # after node-a stopped: the others' mean
    assert ts[0] == dead[0] and values[0] == 10.0  # before the others began: node-a's
    overlap = np.searchsorted(ts, alive[0])
    assert values[overlap] == pytest.approx((10 + 95 + 95) / 3)  # all three: their mean
    series["node-b"] = (np.append(alive, now + step), np.append(series["node-b"][1], 99.0))
    moved = mean_series(series)
    assert moved is not None and moved[0][-1] == now + step and moved[1][-1] == 99.0


def test_a_sparkline_skips_a_series_missing_value() -> None:
    ts = np.array([1.0, 2.0, 3.0])
    found = mean_series({"a": (ts, np.array([1.0, np.nan, 3.0])), "b": (ts[:1], np.array([3.0]))})
    assert found is not None
    assert found[0].tolist() == [1.0, 2.0, 3.0]
    assert found[1][0] == 2.0 and np.isnan(found[1][1]) and found[1][2] == 3.0
    assert mean_series({}) is None and mean_series({"a": (np.array([]), np.array([]))}) is None


def test_the_summary_says_types_environments_gpus_cnf_and_average_health(
    qtbot: QtBot, theme: Theme
) -> None:
    """Counts by state, type and environment, total GPUs, clusters with CNF and the average
    health (of the tiles shown, as the truth scores them): the line said states only."""
    from aiops_desktop.models import ClusterType, Environment
    from aiops_desktop.models.cluster import FleetSummary
    from aiops_desktop.services.clusters.registry import ClusterRegistry
    from tests.qtfree.test_fleet_truth_failures import Registry

    class Summing(Registry):
        fleet_summary = ClusterRegistry.fleet_summary

    hub, east, lab = cluster("acm-hub", hub=True), cluster("ran-east"), cluster("ai-lab")
    hub.cluster_type, lab.environment = ClusterType.HUB, Environment.LAB
    east.capabilities.has_cnf, east.capabilities.gpu_count, lab.capabilities.gpu_count = True, 8, 16
    xid = Finding(Domain.GPU, FindingSeverity.CRITICAL, "gpu3", "XID 79")
    w = make_wall([hub, east, lab], findings={"ran-east": [xid]})
    presenter = FleetPresenter(registry=Summing([hub, east, lab]), fleet=w.fleet,  # type: ignore[arg-type]
                               live=LiveBuffers(), catalog=[], tasks=TaskSupervisor())  # fmt: skip
    view = FleetView(theme)
    qtbot.addWidget(view)
    presenter.sig_tiles.connect(view.show_tiles)
    presenter.sig_summary.connect(view.show_summary)
    presenter.refresh()
    scores = [s for t in presenter.tiles() if (s := t.health_score) is not None]
    mean = sum(scores) / len(scores)
    assert (
        view.summary.text() == f"Fleet · 2 clusters · 1 critical, 1 ok · average health {mean:.0f}"
    )  # acm-hub answers with no member: no tile, though the registry counts it a hub
    assert view.totals.text() == ("Registered: 1 hub, 2 spoke · 2 production, 1 lab · 24 GPUs "
                                  "· 1 with CNF")  # fmt: skip
    assert view.totals.isVisibleTo(view)
    view.show_summary(FleetSummary())  # none registered: no line of totals
    assert not view.totals.isVisibleTo(view)
    presenter.deleteLater()
