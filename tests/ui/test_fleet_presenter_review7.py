"""The Fleet page's presenter (review 7): a hub with no member yet that is not fine is a tile of
its own (its Prometheus failing while its Alertmanager answers: STALE, the page said "none
registered"); the sparklines kept are those of the tiles shown, not of every name ever
shown (CI clusters and hub members come and go)."""

from __future__ import annotations

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from aiops_desktop.models.polling import Source
from aiops_desktop.services.polling.catalog import load_catalog
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.qtfree.test_fleet_truth_failures import T0, Wall, cluster, make_wall, polled
from ui.presenters.fleet import FleetPresenter
from ui.theme import Theme
from ui.views.fleet_view import FleetView

pytestmark = pytest.mark.qt


def _presenter(w: Wall, catalog: list | None = None) -> FleetPresenter:
    return FleetPresenter(
        registry=w.wall.registry,
        fleet=w.fleet, live=w.live, catalog=catalog or [], tasks=TaskSupervisor(),
        poller=w.poller,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_hub_with_no_member_whose_prometheus_fails_is_a_stale_tile(
    qtbot: QtBot, theme: Theme
) -> None:
    """A wrong Thanos URL, its Alertmanager answering: no member known, STALE in the truth;
    only an OK or not-yet-read hub serving none is no tile."""
    w = make_wall([cluster("acm-hub", hub=True), cluster("acm-quiet", hub=True)])
    polled(w.poller, "acm-hub", Source.METRICS, T0, failing=True)
    presenter = _presenter(w)
    tiles = presenter.tiles()
    assert [(t.name, t.state) for t in tiles] == [("acm-hub", "STALE")]
    view = FleetView(theme)
    qtbot.addWidget(view)
    view.show_tiles(tiles)
    assert view.summary.text().startswith("Fleet · 1 cluster · 1 stale")
    presenter.deleteLater()


def test_only_the_sparklines_of_the_tiles_shown_are_kept(qtbot: QtBot) -> None:
    """A cluster added, shown and removed, a hundred times: a sparkline kept for each."""
    catalog = load_catalog()[:1]
    w = make_wall([cluster("ci-0")])
    presenter = _presenter(w, catalog)
    registry = w.wall.registry
    ts = np.arange(10, dtype=float) * 30
    for i in range(100):
        shown = cluster(f"ci-{i}")
        registry._clusters = {shown.id: shown}
        w.live.append(shown.name, catalog[0].id, {"pod": "a"}, ts, np.full(10, 1.0))
        [tile] = presenter.tiles()
        assert tile.name == shown.name and tile.spark is not None
        w.live.drop_cluster(shown.name)  # removed: the app forgets its buffers
    assert list(presenter._sparks) == ["ci-99"]
    presenter.deleteLater()
