"""A hub member's dashboard says how fresh its data is from the hub serving it, as the fleet's
truth judges it (a member of two hubs: the first by name may be down while the other feeds
its charts), in words ("no data yet", not "data no data yet"); and the redraw tick does not
scan the shown cluster's buffers again when only another cluster's poll landed."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from aiops_desktop.models import utcnow
from aiops_desktop.models.polling import Source
from aiops_desktop.services.polling.catalog import load_catalog
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.qtfree.test_fleet_truth_failures import Registry, cluster, make_wall, polled
from ui.presenters.dashboard import DashboardPresenter

pytestmark = pytest.mark.qt


def test_a_member_of_two_hubs_is_judged_from_the_hub_serving_it(qtbot: QtBot) -> None:
    """acm-hub (first by name) refuses connections; thanos-hub serves ran-east: its charts
    are fed, and the line says so at once; when thanos-hub goes down and acm-hub answers
    again, the line follows on the next tick, as the Fleet tile does (it followed the truth
    published by the fleet's refresh, every 60 s: STALE with the dead hub's error meanwhile)."""
    now = utcnow()
    w = make_wall([cluster("acm-hub", hub=True, members=("ran-east",)),
                   cluster("thanos-hub", hub=True, members=("ran-east",))])  # fmt: skip
    w.now[0] = now
    for source in (Source.METRICS, Source.ALERTS):
        polled(w.poller, "acm-hub", source, now, failing=True)
        polled(w.poller, "thanos-hub", source, now)
    w.poller.status[("acm-hub", Source.METRICS)].last_success = now - timedelta(minutes=10)
    w.poller.member_seen = {"thanos-hub": {"ran-east": now}}
    presenter = DashboardPresenter(
        registry=w.wall.registry, poller=w.poller, live=LiveBuffers(), anomalies=None,  # type: ignore[arg-type]
        catalog=[], bus=EventBus(), tasks=TaskSupervisor(), fleet=w.fleet,
    )  # fmt: skip
    said: list[tuple[str, bool]] = []
    presenter.sig_freshness.connect(lambda text, stale: said.append((text, stale)))
    presenter.cluster = "ran-east"
    presenter._emit_freshness()
    assert said[-1] == ("data 0 s ago", False)
    for source in (Source.METRICS, Source.ALERTS):  # thanos-hub goes down, acm-hub is back
        polled(w.poller, "acm-hub", source, now)
        polled(w.poller, "thanos-hub", source, now, failing=True)
    w.poller.member_seen = {"acm-hub": {"ran-east": now}, "thanos-hub": {"ran-east": None}}
    member = w.fleet.snapshot().get("ran-east")
    assert member is not None and member.hub == "acm-hub"
    presenter._emit_freshness()
    assert said[-1] == ("data 0 s ago", False)
    presenter.close()
    presenter.deleteLater()


def test_a_member_its_hub_never_had_says_no_data_yet(qtbot: QtBot) -> None:
    now = utcnow()
    hub = cluster("ran-hub", hub=True, members=("ran-east",))
    w = make_wall([hub])
    polled(w.poller, "ran-hub", Source.METRICS, now)
    w.poller.member_seen = {"ran-hub": {"ran-east": None}}  # polled, never in its answers
    w.poller.hub_newest = {"ran-hub": now - timedelta(seconds=45)}
    presenter = DashboardPresenter(
        registry=Registry([hub]), poller=w.poller, live=LiveBuffers(), anomalies=None,  # type: ignore[arg-type]
        catalog=[], bus=EventBus(), tasks=TaskSupervisor(),
    )  # fmt: skip
    said: list[tuple[str, bool]] = []
    presenter.sig_freshness.connect(lambda text, stale: said.append((text, stale)))
    presenter.cluster = "ran-east"
    presenter._emit_freshness()
    assert said == [("no data yet · STALE · the hub's newest sample 45 s ago", True)]
    presenter.deleteLater()


def test_the_live_span_is_scanned_again_only_when_the_cluster_shown_moved(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another cluster's poll moves the buffers' version: the span of the one shown (every
    ring of it, under the buffers' lock, on the UI thread: 50 ms a tick at 3,000 series a
    panel) was scanned again on every 10 Hz tick."""
    catalog, east = load_catalog(), cluster("east")
    live = LiveBuffers(capacity=4)
    panel = catalog[0].id
    live.append("east", panel, {"i": "0"}, np.arange(4) * 15.0, np.zeros(4))  # full: 1 min
    scans: list[str] = []
    full_span = live.full_span

    def counted(name: str) -> float | None:
        scans.append(name)
        return full_span(name)

    monkeypatch.setattr(live, "full_span", counted)
    presenter = DashboardPresenter(
        registry=Registry([east, cluster("west")]), poller=None, live=live,  # type: ignore[arg-type]
        anomalies=None, catalog=catalog, bus=EventBus(), tasks=TaskSupervisor(),  # type: ignore[arg-type]
    )  # fmt: skip
    presenter.cluster = "east"
    step = east.check_interval_s  # what the buffers' capacity spans: 4 points of it
    assert presenter.live_span_s() == 60.0 < 4 * step and scans == ["east"]
    for k in range(3):  # west is polled: east's span is as it was
        live.append("west", panel, {"i": "0"}, np.array([100.0 + k]), np.array([1.0]))
        assert presenter.live_span_s() == 60.0
    assert scans == ["east"]
    live.append("east", panel, {"i": "0"}, np.array([60.0, 75.0]), np.zeros(2))
    assert presenter.live_span_s() == 60.0 and scans == ["east", "east"]
    live.drop_cluster("east")  # what was held of it is gone: the buffers' capacity's span
    assert presenter.live_span_s() == 4 * step and scans == ["east"] * 3
    presenter.deleteLater()
