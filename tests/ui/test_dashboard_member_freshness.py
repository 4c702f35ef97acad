"""A hub member's dashboard judges its data stale by its hub's source's rule (a poll's time
limit on top of 3 intervals): the hub answering every poll slowly left each member's page
STALE part of every poll while the hub's own was not."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aiops_desktop.models import utcnow
from aiops_desktop.models.polling import Source
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.qtfree.test_fleet_truth_failures import Poller, Registry, cluster, polled
from ui.presenters.dashboard import DashboardPresenter

pytestmark = pytest.mark.qt


def test_a_member_of_a_hub_answering_slowly_is_not_stale(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The hub's answer and ran-east in it 40 s old (polled every 10 s, 30 s a poll): fresh
    by the hub's status (3 x 10 s + 30 s), as the fleet truth says; 61 s old, STALE."""
    hub = cluster("ran-hub", hub=True, members=("ran-east",))

    poller = Poller()
    presenter = DashboardPresenter(
        registry=Registry([hub]), poller=poller, live=LiveBuffers(), anomalies=None, catalog=[],
        bus=EventBus(), tasks=TaskSupervisor(),
    )  # fmt: skip
    said: list[tuple[str, bool]] = []
    presenter.sig_freshness.connect(lambda text, stale: said.append((text, stale)))
    presenter.cluster = "ran-east"
    for old in (40, 61):
        at = utcnow() - timedelta(seconds=old)
        polled(poller, "ran-hub", Source.METRICS, at)
        status = poller.status[("ran-hub", Source.METRICS)]
        status.interval_s, status.timeout_s = 10.0, 30.0
        poller.member_seen["ran-hub"] = {"ran-east": at}
        presenter._emit_freshness()
    assert [stale for _, stale in said] == [False, True]
    assert "STALE" not in said[0][0] and said[0][0].startswith("data 40 s ago")
    presenter.close()
    presenter.deleteLater()
